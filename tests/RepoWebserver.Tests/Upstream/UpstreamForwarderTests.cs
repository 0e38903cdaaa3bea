using System.Net;
using Microsoft.Extensions.Logging;

namespace OstreeContainer.RepoWebserver.Tests.Upstream;

/// <summary>
/// A server holding only part of a repo completes it from an upstream remote: the real
/// nginx serving the whole OS-sized repo.
/// </summary>
public class UpstreamForwarderTests
{
    [Fact]
    public async Task Pull_HalfTheObjectsHereRestUpstream_ClientGetsC2AndFscks()
    {
        var os = Fixtures.OsRepo;
        using var nginx = await NginxServer.StartAsync(os.Repo);
        using var partial = HalfOfTheObjects(out var deleted);
        await using var server = await RunningServer.StartAsync(partial.Path, "--upstream", nginx.RepoUrl);
        using var client = OstreeClient.Create("bare-user", server.RepoUrl);

        client.Pull("--disable-static-deltas", "origin", os.Branch);

        client.Fsck();
        Assert.Equal(os.Commit2, client.RevParse("origin:" + os.Branch));
        var upstreamObjects = nginx.AccessLog.Count(l => l.Contains("GET /repo/objects/", StringComparison.Ordinal) && l.Contains("\" 200 ", StringComparison.Ordinal));
        var servedObjects = server.Requests.Count(r => r.Path.StartsWith("/repo/objects/", StringComparison.Ordinal) && r.Status == 200);
        // Some objects came from each side; only files absent here went upstream.
        Assert.InRange(upstreamObjects, 1, Math.Min(deleted, servedObjects - 1));
        Assert.DoesNotContain(nginx.AccessLog, l => l.Contains("GET /repo/summary ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pull_HalfTheObjectsAndNoUpstream_Fails()
    {
        // Control for the test above: the partial repo alone is not enough.
        var os = Fixtures.OsRepo;
        using var partial = HalfOfTheObjects(out _);
        await using var server = await RunningServer.StartAsync(partial.Path);
        using var client = OstreeClient.Create("bare-user", server.RepoUrl);

        var result = client.TryPull("--disable-static-deltas", "origin", os.Branch);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("404", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_FileMissingEverywhere_Answers404FromUpstream()
    {
        var os = Fixtures.OsRepo;
        using var nginx = await NginxServer.StartAsync(os.Repo);
        await using var server = await RunningServer.StartAsync(Fixtures.SmallRepo.ArchiveRepo, "--upstream", nginx.RepoUrl);
        using var http = server.CreateClient();
        var url = "repo/objects/00/" + new string('0', 62) + ".filez";

        using var response = await http.GetAsync(url);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(nginx.AccessLog, l => l.Contains("GET /" + url + " ", StringComparison.Ordinal) && l.Contains("\" 404 ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/repo/tmp/secret")]
    [InlineData("/repo/state/secret")]
    [InlineData("/repo/.lock")]
    [InlineData("/repo/refs/remotes/origin/secret")]
    [InlineData("/repo/objects/")]
    public async Task Get_PathOutsideTheAllowList_IsNeverForwarded(string target)
    {
        using var upstreamRepo = RepoCopies.Copy(Fixtures.SmallRepo.ArchiveRepo, "upstream-secrets");
        foreach (var file in new[] { "tmp/secret", "state/secret", "refs/remotes/origin/secret", ".lock" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(upstreamRepo.Path, file))!);
            File.WriteAllText(Path.Combine(upstreamRepo.Path, file), "TOP-SECRET");
        }

        using var nginx = await NginxServer.StartAsync(upstreamRepo.Path);
        using var empty = new TempRepo("empty-partial");
        Peer.Ostree(empty.Path, "init", "--mode=archive");
        await using var server = await RunningServer.StartAsync(empty.Path, "--upstream", nginx.RepoUrl);

        var response = await RawHttp.SendAsync(server.Port, "GET", target);

        Assert.Equal(404, response.Status);
        Assert.Empty(response.Body);
        Assert.Empty(nginx.AccessLog);
    }

    [Fact]
    public async Task Get_UpstreamUnreachable_Answers502()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var deadPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var server = await RunningServer.StartAsync(Fixtures.SmallRepo.ArchiveRepo, "--upstream", $"http://127.0.0.1:{deadPort}/repo/");
        using var http = server.CreateClient();

        using var response = await http.GetAsync("repo/objects/00/" + new string('0', 62) + ".filez");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var warning = Assert.Single(server.Logs.Entries, e => e.EventId.Id == 320);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains($"127.0.0.1:{deadPort}", warning.Message, StringComparison.Ordinal);
        Assert.Contains("objects/00/" + new string('0', 62) + ".filez", warning.Message, StringComparison.Ordinal);
        Assert.Contains("Connection refused", warning.Message, StringComparison.Ordinal);
    }

    /// <summary>A hard-linked copy of the OS repo without every second object file (in path order).</summary>
    private static TempRepo HalfOfTheObjects(out int deleted)
    {
        var copy = RepoCopies.LinkCopy(Fixtures.OsRepo.Repo, "partial-os");
        var objects = Directory.EnumerateFiles(Path.Combine(copy.Path, "objects"), "*", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .ToList();
        deleted = 0;
        for (var i = 1; i < objects.Count; i += 2)
        {
            File.Delete(objects[i]);
            deleted++;
        }

        return copy;
    }
}
