using System.Diagnostics;
using System.Text.Json;
using OstreeContainer.Cli;

namespace OstreeContainer.ImagePuller.Tests.Cli;

/// <summary>The <c>pull</c> and <c>inspect</c> verbs, in-process and as a real process killed mid-pull.</summary>
public class PullCommandTests
{
    private static readonly Lazy<(string Layout, ImageBuilder.ImageBuildResult Result)> SmallImage =
        new(() => PullTestImages.Build(Fixtures.SmallRepo.ArchiveRepo, "fixture/main", "main"));

    [Fact]
    public void Pull_ProgressJson_EmitsLayerLinesAndResult()
    {
        var (layout, _) = SmallImage.Value;
        var repo = PullTestImages.NewRepo("archive");

        var (code, stdout, stderr) = Run("pull", "--repo", repo, $"oci:{layout}:main", "--insecure-no-signature", "--progress", "json");

        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Contains(lines, l => l.GetProperty("stage").GetString() == "verify" && l.GetProperty("message").GetString()!.Contains("NOT be checked", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.GetProperty("stage").GetString() == "skip" && l.GetProperty("kind").GetString() == "tree");
        var result = lines[^1];
        Assert.Equal("result", result.GetProperty("stage").GetString());
        Assert.Equal(Fixtures.SmallRepo.Commit2, result.GetProperty("commit").GetString());
        Assert.False(result.GetProperty("signatureVerified").GetBoolean());
        Peer.Ostree(repo, "fsck");
    }

    [Fact]
    public void Pull_NoKeys_OneLineErrorNonZeroExit()
    {
        var (layout, _) = SmallImage.Value;
        var repo = PullTestImages.NewRepo("archive");

        var (code, stdout, stderr) = Run("pull", "--repo", repo, $"oci:{layout}:main");

        Assert.Equal(1, code);
        Assert.Empty(stdout);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--keyring", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_Json_ShowsCommitRefAndLayerKinds()
    {
        var (layout, built) = SmallImage.Value;

        var (code, stdout, stderr) = Run("inspect", $"oci:{layout}:main", "--json");

        Assert.True(code == 0, stderr);
        var doc = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(built.Manifest.Digest.ToString(), doc.GetProperty("manifest").GetString());
        Assert.Equal(Fixtures.SmallRepo.Commit2, doc.GetProperty("commit").GetString());
        Assert.Equal("fixture/main", doc.GetProperty("ref").GetString());
        var kinds = doc.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("kind").GetString()).ToList();
        Assert.Equal(built.Layers.Select(l => l.Kind.ToString().ToLowerInvariant()), kinds);

        var (humanCode, human, _) = Run("inspect", $"oci:{layout}:main");
        Assert.Equal(0, humanCode);
        Assert.Contains($"Commit:   {Fixtures.SmallRepo.Commit2}", human, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_ProcessKilledMidBlob_RerunCompletesWithoutRefetchingCompletedLayers()
    {
        using var registry = LocalRegistry.Start();
        var (layout, built) = SmallImage.Value;
        var image = PullTestImages.Push(registry, layout, built, "fixture/kill", "main");
        var meta = built.Layers.Single(l => l.Kind == ImageBuilder.LayerKind.Meta).Descriptor;
        var repo = PullTestImages.NewRepo("archive");
        var before = PullTestImages.Snapshot(repo);
        string[] args = ["pull", "--repo", repo, image.ToString(), "--tls-verify=false", "--insecure-no-signature", "--progress", "json", "--jobs", "1"];

        var completed = new List<string>();
        using (var process = Start(args))
        {
            while (await process.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
            {
                var p = JsonDocument.Parse(line).RootElement;
                if (p.GetProperty("stage").GetString() != "fetch" || p.GetProperty("layer").GetString() is not { } layer)
                {
                    continue;
                }

                var done = p.GetProperty("done").GetInt64();
                if (done == p.GetProperty("total").GetInt64())
                {
                    completed.Add(layer);
                }
                else if (layer == meta.Digest.ToString() && done > 0)
                {
                    process.Kill();
                    break;
                }
            }

            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.NotEqual(0, process.ExitCode);
        }

        Assert.Equal(before, PullTestImages.Snapshot(repo));
        using (var rerun = Start(args))
        {
            var output = await rerun.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            await rerun.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.True(rerun.ExitCode == 0, output + await rerun.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken));
        }

        Peer.Ostree(repo, "fsck");
        Assert.Equal(Fixtures.SmallRepo.Commit2, Peer.Ostree(repo, "rev-parse", "fixture/main").Trim());
        foreach (var layer in completed)
        {
            Assert.Single(registry.Requests("GET", $"/blobs/{layer}"));
        }
    }

    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
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
}
