using System.Net;
using Microsoft.Extensions.Logging;

namespace OstreeContainer.RepoWebserver.Tests.Serving;

/// <summary>
/// A repo with refs but no <c>summary</c>: the server's generated summary is what the real
/// <c>ostree</c> reads (refs, commit sizes, deltas), and it follows ref changes.
/// </summary>
public class GeneratedSummaryTests
{
    [Theory]
    [InlineData("archive")]
    [InlineData("bare-user")]
    public async Task Pull_RepoWithoutSummary_ClientUsesTheGeneratedSummaryAndFscks(string clientMode)
    {
        using var source = WithoutSummary();
        var expected = OstreeClient.RefCommits(source.Path);
        await using var server = await RunningServer.StartAsync(source.Path);
        using var client = OstreeClient.Create(clientMode, server.RepoUrl);

        // `remote refs` reads nothing but the summary: it fails when there is none.
        var remoteRefs = Peer.Ostree(client.Repo, "remote", "refs", "origin");
        client.Pull(["origin", .. expected.Select(r => r.Ref)]);

        client.Fsck();
        Assert.Equal(expected.Select(r => "origin:" + r.Ref), remoteRefs.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        Assert.Equal(expected, expected.Select(r => (r.Ref, client.RevParse("origin:" + r.Ref))));
        Assert.Contains(new RecordedRequest("GET", "/repo/summary", 200), server.Requests);
        // With a summary the client never falls back to reading refs/heads.
        Assert.DoesNotContain(server.Requests, r => r.Path.StartsWith("/repo/refs/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pull_RepoWithoutSummaryClientHasCommit1_UsesTheDeltaTheGeneratedSummaryIndexes()
    {
        var fx = Fixtures.SmallRepo;
        using var source = WithoutSummary();
        await using var server = await RunningServer.StartAsync(source.Path);
        using var client = OstreeClient.Create("bare-user", server.RepoUrl);
        Peer.Ostree(client.Repo, "pull-local", source.Path, fx.Commit1);
        Peer.Ostree(client.Repo, "refs", "--create=origin:fixture/main", fx.Commit1);

        var output = client.Pull("origin", "fixture/main");

        client.Fsck();
        Assert.Equal(fx.Commit2, client.RevParse("origin:fixture/main"));
        Assert.Contains("1 delta parts", output, StringComparison.Ordinal);
        Assert.Contains(new RecordedRequest("GET", $"/repo/deltas/{RepoRequestHandlerPullTests.DeltaDirectory(fx.Commit1, fx.Commit2)}/superblock", 200), server.Requests);
    }

    [Fact]
    public async Task Get_SummaryAfterARefIsAdded_ListsTheNewRef()
    {
        var fx = Fixtures.SmallRepo;
        using var source = WithoutSummary();
        await using var server = await RunningServer.StartAsync(source.Path);
        using var http = server.CreateClient();
        using var before = await http.GetAsync("repo/summary");
        using var client = OstreeClient.Create("archive", server.RepoUrl);
        Assert.DoesNotContain("origin:fixture/added", Peer.Ostree(client.Repo, "remote", "refs", "origin"), StringComparison.Ordinal);

        Peer.Ostree(source.Path, "refs", "--create=fixture/added", fx.Commit1);
        using var after = await http.GetAsync("repo/summary");

        Assert.Contains("origin:fixture/added", Peer.Ostree(client.Repo, "remote", "refs", "origin"), StringComparison.Ordinal);
        Assert.NotEqual(before.Headers.ETag, after.Headers.ETag);
    }

    [Fact]
    public async Task Get_SummarySignatureWithoutSummary_Answers404()
    {
        // A signature left behind would sign bytes the server no longer serves.
        using var source = WithoutSummary();
        File.WriteAllBytes(Path.Combine(source.Path, "summary.sig"), [0, 0, 0, 0]);
        await using var server = await RunningServer.StartAsync(source.Path);
        using var http = server.CreateClient();

        using var signature = await http.GetAsync("repo/summary.sig");
        using var summary = await http.GetAsync("repo/summary");

        Assert.Equal(HttpStatusCode.NotFound, signature.StatusCode);
        Assert.Equal(HttpStatusCode.OK, summary.StatusCode);
    }

    [Fact]
    public async Task Get_SummaryOfRepoWithoutRefs_Answers404()
    {
        using var repo = new TempRepo("empty-repo");
        Peer.Ostree(repo.Path, "init", "--mode=archive");
        await using var server = await RunningServer.StartAsync(repo.Path);
        using var http = server.CreateClient();

        using var summary = await http.GetAsync("repo/summary");

        Assert.Equal(HttpStatusCode.NotFound, summary.StatusCode);
    }

    [Theory]
    [InlineData("outside")]
    [InlineData("dangling")]
    [InlineData("missing-commit")]
    [InlineData("garbage")]
    public async Task Get_SummaryWithABrokenRef_Answers404WithoutLeak(string breakage)
    {
        using var source = WithoutSummary();
        var evil = Path.Combine(source.Path, "refs/heads/evil");
        switch (breakage)
        {
            case "outside":
                File.CreateSymbolicLink(evil, "/etc/passwd");
                break;
            case "dangling":
                File.CreateSymbolicLink(evil, "/nonexistent/ref");
                break;
            case "missing-commit":
                File.WriteAllText(evil, new string('a', 64) + "\n");
                break;
            default:
                File.WriteAllText(evil, "not a checksum\n");
                break;
        }

        await using var server = await RunningServer.StartAsync(source.Path);
        using var http = server.CreateClient();

        using var response = await http.GetAsync("repo/summary");

        // No correct summary can list that ref: there is none, and clients read the ref files.
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Get_SummaryWhenARefNamesAMissingCommit_Answers404AndLogsAWarningWithTheCause()
    {
        // A partial repo whose ref names a commit it lacks: no correct summary can be made.
        using var source = WithoutSummary();
        var missing = new string('a', 64);
        File.WriteAllText(Path.Combine(source.Path, "refs/heads/partial"), missing + "\n");
        await using var server = await RunningServer.StartAsync(source.Path);
        using var http = server.CreateClient();

        using var response = await http.GetAsync("repo/summary");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var warning = Assert.Single(server.Logs.Entries, e => e.EventId.Id == 301);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(typeof(OstreeContainer.RepoWebserver.Serving.GeneratedSummary).FullName, warning.Category);
        Assert.Contains(source.Path, warning.Message, StringComparison.Ordinal);
        Assert.NotNull(warning.Exception);
        Assert.Contains(missing, warning.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_SummaryOfAGoodRepo_LogsNothing()
    {
        // Control for the test above: a summary that can be made is no warning.
        using var source = WithoutSummary();
        await using var server = await RunningServer.StartAsync(source.Path);
        using var http = server.CreateClient();

        using var response = await http.GetAsync("repo/summary");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(server.Logs.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Pull_RepoWithoutSummaryAndADanglingRef_ClientFallsBackToTheRefFile()
    {
        var fx = Fixtures.SmallRepo;
        using var source = WithoutSummary();
        File.CreateSymbolicLink(Path.Combine(source.Path, "refs/heads/dangling"), "/nonexistent/ref");
        await using var server = await RunningServer.StartAsync(source.Path);
        using var client = OstreeClient.Create("bare-user", server.RepoUrl);

        client.Pull("origin", "fixture/main");

        client.Fsck();
        Assert.Equal(fx.Commit2, client.RevParse("origin:fixture/main"));
        Assert.Contains(new RecordedRequest("GET", "/repo/refs/heads/fixture/main", 200), server.Requests);
    }

    /// <summary>A copy of the fixture archive repo with its summary and summary.sig deleted.</summary>
    private static TempRepo WithoutSummary()
    {
        var copy = RepoCopies.Copy(Fixtures.SmallRepo.ArchiveRepo, "no-summary");
        File.Delete(Path.Combine(copy.Path, "summary"));
        File.Delete(Path.Combine(copy.Path, "summary.sig"));
        return copy;
    }
}
