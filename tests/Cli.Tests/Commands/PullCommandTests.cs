using System.Diagnostics;
using System.Text.Json;

namespace OstreeContainer.Cli.Tests.Commands;

/// <summary>
/// The pull and inspect verbs on the OS fixture's image, built and pushed with the CLI
/// itself; pull as a real process killed with SIGKILL at a random point, then rerun.
/// </summary>
public class PullCommandTests
{
    private static readonly Lazy<string> OsLayout = new(() =>
    {
        var os = Fixtures.OsRepo;
        var layout = Path.Combine(Fixtures.TempDirectory("cli-pull-os"), "layout");
        var built = CliRunner.Run("build", "--repo", os.Repo, "--ref", os.Branch, "--webserver", NativeWebserver.Executable, "--oci-dir", $"{layout}:c2", "-q");
        Assert.True(built.ExitCode == 0, built.Stderr);
        return layout;
    });

    [Fact]
    public async Task Pull_KilledAtRandomPointThenRerun_CompletesFsckCleanWithoutRefetchingCompletedLayers()
    {
        var os = Fixtures.OsRepo;
        using var registry = LocalRegistry.Start();
        var pushed = CliRunner.Run("push", $"oci:{OsLayout.Value}:c2", $"docker://{registry.Host}/os/kill:c2", "--tls-verify=false");
        Assert.True(pushed.ExitCode == 0, pushed.Stderr);
        // 4 MB/s per connection: the ~120 MB of repo and meta layers take far longer than the kill delay.
        using var proxy = new RegistryFaultProxy(registry.Port) { BytesPerSecond = 4 << 20 };
        var repo = Path.Combine(Fixtures.TempDirectory("cli-pull-kill"), "repo");
        Peer.Check("ostree", "init", $"--repo={repo}", "--mode=archive");
        var before = RepoSnapshot.Of(repo);
        string[] args = ["pull", "--repo", repo, $"docker://{proxy.Host}/os/kill:c2", "--tls-verify=false", "--insecure-no-signature", "--progress", "json", "--jobs", "3"];
        var delay = TimeSpan.FromMilliseconds(Random.Shared.Next(0, 3000));

        var completed = new HashSet<string>(StringComparer.Ordinal);
        long doneAtKill = 0;
        using (var process = Start(args))
        {
            var progress = new System.Collections.Concurrent.ConcurrentDictionary<string, long>(StringComparer.Ordinal);
            Task? kill = null;
            while (await process.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
            {
                var p = JsonDocument.Parse(line).RootElement;
                Assert.NotEqual("result", p.GetProperty("stage").GetString());
                if (p.GetProperty("stage").GetString() != "fetch" || p.GetProperty("layer").GetString() is not { } layer)
                {
                    continue;
                }

                var done = p.GetProperty("done").GetInt64();
                progress[layer] = done;
                if (done == p.GetProperty("total").GetInt64())
                {
                    completed.Add(layer);
                }

                // A first layer is complete and others under way: SIGKILL after the random delay,
                // wherever the pull is then (the proxy keeps the whole pull well above 3 s).
                kill ??= completed.Count > 0 ? Task.Delay(delay).ContinueWith(_ =>
                {
                    doneAtKill = progress.Values.Sum();
                    process.Kill();
                }, TaskScheduler.Default) : null;
            }

            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Equal(128 + 9, process.ExitCode);
        }

        Assert.Equal(before, RepoSnapshot.Of(repo));
        var partials = Directory.GetFiles(Path.Combine(repo, "tmp", "ostree-container-blobs"), "*.partial").Length;
        proxy.BytesPerSecond = 0;
        var rerun = Start(args);
        var output = await rerun.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await rerun.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(rerun.ExitCode == 0, output + await rerun.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken));

        Peer.Ostree(repo, "fsck");
        Assert.Equal(os.Commit2, Peer.Ostree(repo, "rev-parse", os.Branch).Trim());
        Assert.Empty(TreeDiff.Compare(Checkout(os.Repo, os.Commit2), Checkout(repo, os.Branch)));
        foreach (var layer in completed)
        {
            Assert.Single(registry.Requests("GET", $"/blobs/{layer}"));
        }

        var result = JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        Assert.Equal("result", result.GetProperty("stage").GetString());
        // Completed layers cost nothing and partial ones only their rest.
        var sizes = JsonDocument.Parse(CliRunner.Run("inspect", $"oci:{OsLayout.Value}:c2", "--json").Stdout).RootElement.GetProperty("layers").EnumerateArray()
            .Where(l => l.GetProperty("kind").GetString() is "repo" or "meta")
            .DistinctBy(l => l.GetProperty("digest").GetString())
            .ToDictionary(l => l.GetProperty("digest").GetString()!, l => l.GetProperty("size").GetInt64());
        Assert.NotEmpty(completed);
        Assert.InRange(result.GetProperty("bytesTransferred").GetInt64(), 0, sizes.Values.Sum() - completed.Sum(l => sizes[l]));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"killed after {delay.TotalMilliseconds} ms with {doneAtKill / 1e6:F1} MB on disk, {completed.Count} layers complete, {partials} partial; " +
            $"rerun fetched {result.GetProperty("bytesTransferred").GetInt64() / 1e6:F1} MB in {result.GetProperty("layersFetched").GetInt32()} layers");
    }

    [Fact]
    public void Pull_ProgressJson_EveryLineParsesWithStageAndPerLayerBytes()
    {
        var repo = Path.Combine(Fixtures.TempDirectory("cli-pull-json"), "repo");
        Peer.Check("ostree", "init", $"--repo={repo}", "--mode=bare-user");

        var result = CliRunner.Run("pull", "--repo", repo, $"oci:{OsLayout.Value}:c2", "--insecure-no-signature", "--progress", "json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var stages = lines.Select(l => l.GetProperty("stage").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "manifest", "verify", "skip", "fetch", "import", "commit", "result" }, stages);
        var fetches = lines.Where(l => l.GetProperty("stage").GetString() == "fetch").ToList();
        Assert.All(fetches, l => Assert.InRange(l.GetProperty("done").GetInt64(), 0, l.GetProperty("total").GetInt64()));
        // Every layer read reports its own bytes, ending at its total; tree layers are skipped, never fetched.
        var layout = JsonDocument.Parse(CliRunner.Run("inspect", $"oci:{OsLayout.Value}:c2", "--json").Stdout).RootElement;
        var wanted = layout.GetProperty("layers").EnumerateArray().Where(l => l.GetProperty("kind").GetString() is "repo" or "meta").Select(l => l.GetProperty("digest").GetString()).ToHashSet();
        Assert.Equal(wanted, fetches.Where(l => l.GetProperty("done").GetInt64() == l.GetProperty("total").GetInt64()).Select(l => l.GetProperty("layer").GetString()).ToHashSet());
        Assert.Equal(Fixtures.OsRepo.Commit2, lines[^1].GetProperty("commit").GetString());
    }

    [Fact]
    public void Pull_NoKeys_OneLineErrorNonZeroExitNothingWritten()
    {
        var repo = Path.Combine(Fixtures.TempDirectory("cli-pull-nokeys"), "repo");
        Peer.Check("ostree", "init", $"--repo={repo}", "--mode=archive");
        var before = RepoSnapshot.Of(repo);

        var (code, stdout, stderr) = CliRunner.Run("pull", "--repo", repo, $"oci:{OsLayout.Value}:c2");

        Assert.Equal(1, code);
        Assert.Empty(stdout);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--keyring", stderr, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
    }

    [Fact]
    public void Inspect_Json_ManifestCommitRefAndLayersAsSkopeoSeesThem()
    {
        var layout = OsLayout.Value;
        var manifestDigest = Peer.Run(Peer.Require("skopeo"), ["inspect", "--format", "{{.Digest}}", $"oci:{layout}:c2"]).EnsureSuccess("skopeo inspect").Stdout.Trim();
        var raw = JsonDocument.Parse(Peer.Run(Peer.Require("skopeo"), ["inspect", "--raw", $"oci:{layout}:c2"]).EnsureSuccess("skopeo inspect --raw").Stdout).RootElement;

        var result = CliRunner.Run("inspect", $"oci:{layout}:c2", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var doc = JsonDocument.Parse(result.Stdout).RootElement;
        Assert.Equal(manifestDigest, doc.GetProperty("manifest").GetString());
        Assert.Equal(Fixtures.OsRepo.Commit2, doc.GetProperty("commit").GetString());
        Assert.Equal(Fixtures.OsRepo.Branch, doc.GetProperty("ref").GetString());
        var ours = doc.GetProperty("layers").EnumerateArray().Select(l => (l.GetProperty("digest").GetString(), l.GetProperty("size").GetInt64())).ToList();
        var skopeos = raw.GetProperty("layers").EnumerateArray().Select(l => (l.GetProperty("digest").GetString(), l.GetProperty("size").GetInt64())).ToList();
        Assert.Equal(skopeos, ours);
    }

    [Fact]
    public void InspectRepoThenPull_C1ThenC2_SaysDeltaPathAndBytesInLinesAndJson()
    {
        var os = Fixtures.OsRepo;
        var layout = OsLayout.Value;
        var c1 = CliRunner.Run("build", "--repo", os.Repo, "--ref", os.Commit1, "--webserver", NativeWebserver.Executable, "--oci-dir", $"{layout}:c1", "-q");
        Assert.True(c1.ExitCode == 0, c1.Stderr);
        var repo = Path.Combine(Fixtures.TempDirectory("cli-pull-delta"), "repo");
        Peer.Check("ostree", "init", $"--repo={repo}", "--mode=bare-user");

        // A fresh repository has no commit a delta starts from: inspect says so.
        var fresh = CliRunner.Run("inspect", $"oci:{layout}:c2", "--repo", repo);
        Assert.True(fresh.ExitCode == 0, fresh.Stderr);
        Assert.Contains($"{os.Commit1} -> {os.Commit2}", fresh.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"Pull into .*: layers \(\d+ layers\), \d+ bytes to fetch: no delta in the image starts from a commit this repository has", fresh.Stdout);

        var first = CliRunner.Run("pull", "--repo", repo, "--ref", os.Branch, $"oci:{layout}:c1", "--insecure-no-signature", "--progress", "auto");
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("path: repo layers", first.Stderr, StringComparison.Ordinal);

        // Holding C1, a pull of C2 takes the C1 -> C2 delta layer alone.
        var inspect = JsonDocument.Parse(CliRunner.Run("inspect", $"oci:{layout}:c2", "--repo", repo, "--json").Stdout).RootElement;
        var delta = Assert.Single(inspect.GetProperty("deltas").EnumerateArray(), d => d.GetProperty("from").GetString() == os.Commit1);
        Assert.Equal(os.Commit2, delta.GetProperty("to").GetString());
        var plan = inspect.GetProperty("pull");
        Assert.Equal("delta", plan.GetProperty("path").GetString());
        Assert.Equal(delta.GetProperty("layerSize").GetInt64(), plan.GetProperty("bytesToFetch").GetInt64());
        Assert.Equal([delta.GetProperty("layer").GetInt32()], plan.GetProperty("layersToFetch").EnumerateArray().Select(l => l.GetInt32()));
        var human = CliRunner.Run("inspect", $"oci:{layout}:c2", "--repo", repo);
        Assert.Contains($"Pull into {repo}: delta {os.Commit1[..12]} -> {os.Commit2[..12]} (layer {delta.GetProperty("layer").GetInt32()}), {plan.GetProperty("bytesToFetch").GetInt64()} bytes to fetch", human.Stdout, StringComparison.Ordinal);

        var second = CliRunner.Run("pull", "--repo", repo, $"oci:{layout}:c2", "--insecure-no-signature", "--progress", "json");
        Assert.True(second.ExitCode == 0, second.Stderr);
        var lines = second.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var planLine = Assert.Single(lines, l => l.GetProperty("stage").GetString() == "plan");
        Assert.StartsWith($"path: delta {os.Commit1[..12]} -> {os.Commit2[..12]}", planLine.GetProperty("message").GetString(), StringComparison.Ordinal);
        var result = lines[^1];
        Assert.Equal("delta", result.GetProperty("path").GetString());
        Assert.Equal(os.Commit1, result.GetProperty("delta").GetProperty("from").GetString());
        Assert.Equal(delta.GetProperty("size").GetInt64(), result.GetProperty("delta").GetProperty("size").GetInt64());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("fallbackReason").ValueKind);
        Assert.Equal(os.Commit2, Peer.Ostree(repo, "rev-parse", os.Branch).Trim());
        Peer.Ostree(repo, "fsck");

        var again = JsonDocument.Parse(CliRunner.Run("inspect", $"oci:{layout}:c2", "--repo", repo, "--json").Stdout).RootElement;
        Assert.Equal("up-to-date", again.GetProperty("pull").GetProperty("path").GetString());
    }

    private static Process Start(string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ostree-container.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info)!;
    }

    private static string Checkout(string repo, string rev)
    {
        var dir = Path.Combine(Fixtures.TempDirectory("cli-checkout"), "tree");
        Peer.Ostree(repo, "checkout", "-U", rev, dir);
        return dir;
    }
}
