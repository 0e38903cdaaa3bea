using System.Text.Json;

namespace OstreeContainer.Cli.Tests.Commands;

/// <summary>
/// <c>build</c>'s delta flags: <c>--delta-from</c>, <c>--delta-from-image</c> against a real
/// docker-registry, <c>--no-deltas</c>; bad input is one line, non-zero, nothing written.
/// </summary>
public class BuildCommandDeltaTests
{
    // A private copy of the small archive repo (other tests add refs and deltas to the shared one).
    private static readonly Lazy<string> Repo = new(() =>
    {
        var copy = Path.Combine(Fixtures.TempDirectory("build-delta-source"), "repo");
        Peer.Run("cp", ["-a", Fixtures.SmallRepo.ArchiveRepo, copy]).EnsureSuccess("cp -a");
        return copy;
    });

    private static string[] Build(string repo, string rev, params string[] rest) =>
        ["build", "--repo", repo, "--ref", rev, "--webserver", NativeWebserver.Executable, .. rest];

    [Theory]
    [InlineData("--delta-from", "fixture/v1")]
    [InlineData("--delta-from-image", "oci:/nonexistent:x")]
    public void Build_NoDeltasWithAnotherDeltaFlag_OneLineUsageErrorAndNoLayout(string flag, string value)
    {
        var dir = Path.Combine(Fixtures.TempDirectory("cli-delta"), "layout");

        var result = CliRunner.Run(Build(Repo.Value, "fixture/main", "--oci-dir", dir, "--no-deltas", flag, value));

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--no-deltas cannot be combined with --delta-from or --delta-from-image", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir), "a rejected build left a layout behind");
    }

    [Theory]
    [InlineData("no/such/ref", "no such ref or commit")]
    [InlineData("fixture/main", "the one being built")]
    public void Build_BadDeltaFrom_OneLineNonZeroAndNothingWritten(string rev, string expected)
    {
        var dir = Path.Combine(Fixtures.TempDirectory("cli-delta"), "layout");

        var result = CliRunner.Run(Build(Repo.Value, "fixture/main", "--oci-dir", dir, "--delta-from", rev));

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"--delta-from {rev}: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir), "a rejected build left a layout behind");
    }

    [Fact]
    public void Build_DeltaFromEmptyAndNoDeltas_TheLogSaysWhatEachDeltaIs()
    {
        var small = Fixtures.SmallRepo;
        var dir = Path.Combine(Fixtures.TempDirectory("cli-delta"), "layout");

        // The repo has ostree's C1 -> C2 and from-scratch deltas: both carried, nothing generated.
        var carried = CliRunner.Run(Build(Repo.Value, "fixture/main", "--oci-dir", $"{dir}:all", "--delta-from", "empty"));
        var none = CliRunner.Run(Build(Repo.Value, "fixture/main", "--oci-dir", $"{dir}:none", "--no-deltas"));

        Assert.True(carried.ExitCode == 0, carried.Stderr);
        Assert.Contains($"static delta {small.Commit1} -> {small.Commit2}: carried from the repo", carried.Stderr, StringComparison.Ordinal);
        Assert.Contains($"static delta empty -> {small.Commit2}: carried from the repo", carried.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, DeltaLayers(dir, "all").Count);
        Assert.True(none.ExitCode == 0, none.Stderr);
        Assert.DoesNotContain(": carried from the repo", none.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(": generated, ", none.Stderr, StringComparison.Ordinal);
        Assert.Empty(DeltaLayers(dir, "none"));
    }

    [Fact]
    public void Build_DeltaFromImageWhoseCommitTheRepoLacks_ImportsItWithoutARefAndGeneratesTheDelta()
    {
        var small = Fixtures.SmallRepo;
        using var registry = LocalRegistry.Start();
        var old = $"{registry.Host}/os/fixture:c1";
        var pushed = CliRunner.Run(Build(Repo.Value, "fixture/v1", "--push", old, "--tls-verify=false", "-q", "--no-deltas"));
        Assert.True(pushed.ExitCode == 0, pushed.Stderr);

        // A source repo holding C2 alone, without a ref: its parent C1 is not there.
        var source = Path.Combine(Fixtures.TempDirectory("cli-delta-source"), "repo");
        Peer.Ostree(source, "init", "--mode=archive");
        Peer.Ostree(source, "pull-local", small.ArchiveRepo, small.Commit2);
        var dir = Path.Combine(Fixtures.TempDirectory("cli-delta"), "layout");

        var result = CliRunner.Run(Build(source, small.Commit2, "--oci-dir", dir, "--delta-from-image", old, "--tls-verify=false"));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"--delta-from-image docker://{old}: commit {small.Commit1} imported into {source} (objects only, no ref)", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"static delta {small.Commit1} -> {small.Commit2}: generated, ", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, Peer.Ostree(source, "refs").Trim());
        Peer.Ostree(source, "fsck");
        Assert.Contains(small.Commit1, Peer.Ostree(source, "log", small.Commit2), StringComparison.Ordinal);
        var delta = Assert.Single(DeltaLayers(dir, "latest"));
        Assert.Equal(small.Commit1, delta.GetProperty("ostree.container.delta.from").GetString());
        Assert.Equal(small.Commit2, delta.GetProperty("ostree.container.delta.to").GetString());
        Assert.False(Directory.Exists(Path.Combine(source, "deltas")), "the build wrote a delta into the source repo");
    }

    /// <summary>The annotations of the delta layers of the image tagged <paramref name="tag"/>.</summary>
    private static List<JsonElement> DeltaLayers(string layout, string tag)
    {
        var manifest = Oci.Layout.ImageLayout.Open(layout).ResolveManifest(tag, null);
        using var json = JsonDocument.Parse(manifest.Bytes);
        return [.. json.RootElement.GetProperty("layers").EnumerateArray()
            .Select(l => l.GetProperty("annotations").Clone())
            .Where(a => a.GetProperty("ostree.container.layer").GetString() == "delta")];
    }
}
