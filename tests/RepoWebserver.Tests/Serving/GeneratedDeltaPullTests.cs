using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.RepoWebserver.Tests.Serving;

/// <summary>
/// Deltas made by our <see cref="DeltaGenerator"/>, served by our webserver, pulled by the
/// real <c>ostree pull --require-static-deltas</c>: the client fscks clean with the target.
/// </summary>
public class GeneratedDeltaPullTests
{
    [Fact]
    public async Task Pull_OurOsC1ToC2Delta_ClientHasC2AndFscks()
    {
        var os = Fixtures.OsRepo;
        using var source = OsCopyWithoutDeltas("gen-pull-os");
        await DeltaGenerator.GenerateAsync(OstreeRepo.Open(source.Path), Checksum.Parse(os.Commit1), Checksum.Parse(os.Commit2), new DeltaGenerateOptions());
        await using var server = await RunningServer.StartAsync(source.Path);
        using var client = OstreeClient.Create("bare-user", server.RepoUrl);
        Peer.Ostree(client.Repo, "pull-local", os.Repo, os.Commit1);
        Peer.Ostree(client.Repo, "refs", $"--create=origin:{os.Branch}", os.Commit1);

        var output = client.Pull("--require-static-deltas", "origin", os.Branch);

        client.Fsck();
        Assert.Equal(os.Commit2, client.RevParse("origin:" + os.Branch));
        Assert.Contains("delta parts", output, StringComparison.Ordinal);
        Assert.Contains(server.Requests, r => r.Path.EndsWith("/superblock", StringComparison.Ordinal) && r.Status == 200);
        Assert.DoesNotContain(server.Requests, r => r.Status >= 500);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Pull_OurFromScratchDeltaWithFallbacks_ClientHasTheCommitAndFscks(bool bareUserSource)
    {
        // Small parts and a 1-byte fallback threshold: several parts, and every larger new
        // file fetched loose (as .filez, transcoded when the source is bare-user).
        var fx = Fixtures.SmallRepo;
        using var source = RepoCopies.Copy(bareUserSource ? fx.BareUserRepo : fx.ArchiveRepo, "gen-pull-scratch");
        Peer.Check("rm", "-rf", Path.Combine(source.Path, "deltas"), Path.Combine(source.Path, "delta-indexes"), Path.Combine(source.Path, "summary"), Path.Combine(source.Path, "summary.sig"));
        var result = await DeltaGenerator.GenerateAsync(
            OstreeRepo.Open(source.Path), null, Checksum.Parse(fx.Commit2), new DeltaGenerateOptions { MaxChunkSize = 1, MinFallbackSize = 1 });
        Assert.True(result.Fallbacks > 0, "expected fallback objects");
        await using var server = await RunningServer.StartAsync(source.Path);
        using var client = OstreeClient.Create("bare-user", server.RepoUrl);

        client.Pull("--require-static-deltas", "origin", "fixture/main");

        client.Fsck();
        Assert.Equal(fx.Commit2, client.RevParse("origin:fixture/main"));
        Assert.DoesNotContain(server.Requests, r => r.Status >= 500);
    }

    /// <summary>The OS fixture, objects hard-linked, config and summary copied, no deltas.</summary>
    private static TempRepo OsCopyWithoutDeltas(string prefix)
    {
        var copy = RepoCopies.LinkCopy(Fixtures.OsRepo.Repo, prefix);
        foreach (var name in new[] { "config", "summary" })
        {
            var path = Path.Combine(copy.Path, name);
            File.Delete(path);
            File.Copy(Path.Combine(Fixtures.OsRepo.Repo, name), path);
        }

        Peer.Check("rm", "-rf", Path.Combine(copy.Path, "deltas"), Path.Combine(copy.Path, "delta-indexes"));
        return copy;
    }
}
