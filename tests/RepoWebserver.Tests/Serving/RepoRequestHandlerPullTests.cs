namespace OstreeContainer.RepoWebserver.Tests.Serving;

/// <summary>
/// The real <c>ostree pull</c> (2022.7, libcurl) against the server serving archive repos:
/// every scenario ends with a clean <c>ostree fsck</c> and refs equal to the source's.
/// </summary>
public class RepoRequestHandlerPullTests
{
    [Theory]
    [InlineData("archive")]
    [InlineData("bare-user")]
    public async Task Pull_FixtureArchiveRepoAllRefs_ClientFscksWithTheSourceRefs(string clientMode)
    {
        var requests = await PullScenario.PullEveryRefAsync(Fixtures.SmallRepo.ArchiveRepo, clientMode);

        // Only the files a pull may ask for were asked for, and none of them failed.
        Assert.DoesNotContain(requests, r => r.Status >= 500);
        Assert.Contains(requests, r => r.Path == "/repo/summary" && r.Status == 200);
    }

    [Fact]
    public async Task Pull_OsRepoC2IntoBareUserWithoutDeltas_ClientFscksAndHasC2()
    {
        var os = Fixtures.OsRepo;
        await using var server = await RunningServer.StartAsync(os.Repo);
        using var client = OstreeClient.Create("bare-user", server.RepoUrl);

        var output = client.Pull("--disable-static-deltas", "origin", os.Branch);

        client.Fsck();
        Assert.Equal(os.Commit2, client.RevParse("origin:" + os.Branch));
        Assert.DoesNotContain("delta parts", output, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Requests, r => r.Path.StartsWith("/repo/deltas/", StringComparison.Ordinal));
        Assert.True(server.Requests.Count(r => r.Path.EndsWith(".filez", StringComparison.Ordinal) && r.Status == 200) > 1000, "expected the OS tree's files to be fetched loose");
    }

    [Fact]
    public async Task Pull_ClientHasC1_UsesTheC1ToC2StaticDelta()
    {
        var os = Fixtures.OsRepo;
        await using var server = await RunningServer.StartAsync(os.Repo);
        using var client = OstreeClient.Create("bare-user", server.RepoUrl);
        // The client gets C1 locally (fast), and its origin ref points at it, as after an earlier pull.
        Peer.Ostree(client.Repo, "pull-local", os.Repo, os.Commit1);
        Peer.Ostree(client.Repo, "refs", $"--create=origin:{os.Branch}", os.Commit1);

        var output = client.Pull("origin", os.Branch);

        client.Fsck();
        Assert.Equal(os.Commit2, client.RevParse("origin:" + os.Branch));
        Assert.Contains("delta parts", output, StringComparison.Ordinal);
        var deltaDir = DeltaDirectory(os.Commit1, os.Commit2);
        Assert.Contains(new RecordedRequest("GET", $"/repo/deltas/{deltaDir}/superblock", 200), server.Requests);
        Assert.Contains(new RecordedRequest("GET", $"/repo/deltas/{deltaDir}/0", 200), server.Requests);
        Assert.DoesNotContain(server.Requests, r => r.Status >= 500);
    }

    [Fact]
    public async Task Pull_Mirror_ClientHasEveryRefAndTheSummaryVerbatim()
    {
        var source = Fixtures.SmallRepo.ArchiveRepo;
        await using var server = await RunningServer.StartAsync(source);
        using var client = OstreeClient.Create("archive", server.RepoUrl);

        client.Pull("--mirror", "origin");

        client.Fsck();
        Assert.Equal(OstreeClient.RefCommits(source), OstreeClient.RefCommits(client.Repo));
        Assert.Equal(File.ReadAllBytes(Path.Combine(source, "summary")), File.ReadAllBytes(Path.Combine(client.Repo, "summary")));
    }

    [Fact]
    public async Task Pull_DepthOne_FetchesTheParentCommitToo()
    {
        var fx = Fixtures.SmallRepo;
        await using var server = await RunningServer.StartAsync(fx.ArchiveRepo);
        using var client = OstreeClient.Create("archive", server.RepoUrl);

        client.Pull("--depth=1", "origin", "fixture/main");

        client.Fsck();
        Assert.Equal(fx.Commit2, client.RevParse("origin:fixture/main"));
        // commit2's parent is commit1: with depth 1 it is present with its whole tree.
        Assert.Equal(fx.Commit1, Peer.Ostree(client.Repo, "rev-parse", $"{fx.Commit2}^").Trim());
        Peer.Ostree(client.Repo, "ls", "-R", fx.Commit1);
        Assert.Contains(new RecordedRequest("GET", "/repo/" + RepoCopies.ObjectUrl(fx.Commit1, "commit"), 200), server.Requests);
    }

    [Fact]
    public async Task Pull_DepthZero_DoesNotFetchTheParentCommit()
    {
        // Control for the test above: without --depth the parent is never asked for.
        var fx = Fixtures.SmallRepo;
        await using var server = await RunningServer.StartAsync(fx.ArchiveRepo);
        using var client = OstreeClient.Create("archive", server.RepoUrl);

        client.Pull("origin", "fixture/main");

        Assert.DoesNotContain(server.Requests, r => r.Path == "/repo/" + RepoCopies.ObjectUrl(fx.Commit1, "commit"));
    }

    /// <summary><c>deltas/F[0:2]/F[2:]-T</c> in modified base64 (ostree-format.md §8.1).</summary>
    internal static string DeltaDirectory(string from, string to)
    {
        var f = ModifiedBase64(from);
        return $"{f[..2]}/{f[2..]}-{ModifiedBase64(to)}";
    }

    /// <summary>"Modified base64" of a checksum (ostree-format.md §8.1).</summary>
    internal static string ModifiedBase64(string checksum) =>
        Convert.ToBase64String(Convert.FromHexString(checksum)).TrimEnd('=').Replace('/', '_');
}
