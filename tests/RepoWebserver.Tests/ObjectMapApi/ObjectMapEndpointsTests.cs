using System.Net;
using System.Text.Json;
using OstreeContainer.ObjectMap;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.RepoWebserver.Hosting;

namespace OstreeContainer.RepoWebserver.Tests.ObjectMapApi;

/// <summary>The object-map API over HTTP answers what <c>ostree ls</c> and <c>ostree diff</c> say.</summary>
public class ObjectMapEndpointsTests
{
    private static string BuildMap(string repo, params string[] revs)
    {
        var path = Path.Combine(Fixtures.TempDirectory("map"), "object-map");
        ObjectMapBuilder.Build(OstreeRepo.Open(repo), revs, path);
        return path;
    }

    [Fact]
    public async Task GetPath_EveryPathOfTheOsCommit_MatchesOstreeLs()
    {
        var os = Fixtures.OsRepo;
        var map = BuildMap(os.Repo, os.Commit2);
        await using var server = await RunningServer.StartAsync(os.Repo, "--object-map", map);
        using var http = server.CreateClient();
        var expected = OstreeLs.List(os.Repo, os.Commit2);

        var mismatches = new List<string>();
        foreach (var entry in expected)
        {
            using var response = await http.GetAsync("object-map/paths" + Uri.EscapeDataString(entry.Path).Replace("%2F", "/", StringComparison.Ordinal));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                mismatches.Add($"{entry.Path}: {(int)response.StatusCode}");
                continue;
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var e = json.RootElement;
            var actual = (e.GetProperty("checksum").GetString(), e.GetProperty("mode").GetUInt32() & 0xFFF, e.GetProperty("uid").GetUInt32(), e.GetProperty("gid").GetUInt32(), e.GetProperty("symlinkTarget").GetString());
            var wanted = (entry.Checksum, entry.Permissions & 0xFFF, entry.Uid, entry.Gid, entry.SymlinkTarget);
            if (actual != wanted || (entry.Type == '-' && e.GetProperty("size").GetInt64() != entry.Size))
            {
                mismatches.Add($"{entry.Path}: {actual} vs {wanted}");
            }
        }

        Assert.True(expected.Count > 10_000, $"only {expected.Count} paths listed");
        Assert.Empty(mismatches);
    }

    [Fact]
    public async Task GetChecksumAndListing_OsCommit_AgreeWithTheMapLibrary()
    {
        var os = Fixtures.OsRepo;
        var map = BuildMap(os.Repo, os.Commit1, os.Commit2);
        await using var server = await RunningServer.StartAsync(os.Repo, "--object-map", map);
        using var http = server.CreateClient();
        using var reader = ObjectMapReader.Open(map);
        Assert.True(reader.TryGetEntry("/usr/lib/os-release", os.Commit1, out var osRelease));

        var uses = JsonDocument.Parse(await http.GetStringAsync($"object-map/checksums/{osRelease.Checksum}")).RootElement;
        var listing = JsonDocument.Parse(await http.GetStringAsync($"object-map/ls/usr/lib/exampleos?commit={os.Commit1}")).RootElement;
        var commits = JsonDocument.Parse(await http.GetStringAsync("object-map/commits")).RootElement;

        Assert.Contains(uses.EnumerateArray(), u => u.GetProperty("path").GetString() == "/usr/lib/os-release" && u.GetProperty("commit").GetString() == os.Commit1);
        Assert.Equal(
            reader.ListDirectory("/usr/lib/exampleos", os.Commit1)!.Select(x => x.Path),
            listing.EnumerateArray().Select(x => x.GetProperty("path").GetString()));
        Assert.Equal([os.Commit2, os.Commit1], commits.EnumerateArray().Select(c => c.GetProperty("checksum").GetString()));
    }

    [Fact]
    public async Task GetDiff_TwoCommits_EqualsTheLibraryDiffAndNamesOstreeDiffChanges()
    {
        var os = Fixtures.OsRepo;
        var map = BuildMap(os.Repo, os.Commit1, os.Commit2);
        await using var server = await RunningServer.StartAsync(os.Repo, "--object-map", map);
        using var http = server.CreateClient();
        using var reader = ObjectMapReader.Open(map);
        var expected = reader.Diff(os.Commit1, os.Commit2);
        var ostreeDiff = Peer.Ostree(os.Repo, "diff", os.Commit1, os.Commit2);

        var diff = JsonDocument.Parse(await http.GetStringAsync($"object-map/diff?from={os.Commit1}&to={os.Commit2}")).RootElement;

        Assert.Equal(expected.Added, diff.GetProperty("added").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(expected.Removed, diff.GetProperty("removed").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(expected.Changed, diff.GetProperty("changed").EnumerateArray().Select(x => x.GetString()));
        Assert.Contains("M    /usr/lib/os-release", ostreeDiff, StringComparison.Ordinal);
        Assert.Contains("/usr/lib/os-release", expected.Changed);
    }

    [Theory]
    [InlineData("object-map/paths/does/not/exist", HttpStatusCode.NotFound)]
    [InlineData("object-map/ls/usr/bin/bash", HttpStatusCode.NotFound)]
    [InlineData("object-map/checksums/xyz", HttpStatusCode.BadRequest)]
    [InlineData("object-map/checksums/0000000000000000000000000000000000000000000000000000000000000000", HttpStatusCode.NotFound)]
    [InlineData("object-map/diff?from=x", HttpStatusCode.BadRequest)]
    [InlineData("object-map/paths/usr?commit=nosuchcommit", HttpStatusCode.NotFound)]
    public async Task Get_BadLookups_AnswerJsonErrors(string url, HttpStatusCode status)
    {
        var fx = Fixtures.SmallRepo;
        var map = BuildMap(fx.ArchiveRepo, "fixture/main");
        await using var server = await RunningServer.StartAsync(fx.ArchiveRepo, "--object-map", map);
        using var http = server.CreateClient();

        using var response = await http.GetAsync(url);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task OpenApiDocument_EveryListedPath_IsAnswered()
    {
        var fx = Fixtures.SmallRepo;
        var map = BuildMap(fx.ArchiveRepo, "fixture/v1", "fixture/main");
        await using var server = await RunningServer.StartAsync(fx.ArchiveRepo, "--object-map", map);
        using var http = server.CreateClient();
        var document = JsonDocument.Parse(await http.GetStringAsync("object-map/openapi.json")).RootElement;
        var examples = new Dictionary<string, string>
        {
            ["/object-map/commits"] = "object-map/commits",
            ["/object-map/paths/{path}"] = "object-map/paths/etc/hello.txt",
            ["/object-map/ls/{path}"] = "object-map/ls/usr/bin",
            ["/object-map/checksums/{checksum}"] = "object-map/checksums/6ebd31bcbf63ecc270a258b082aaa9c1f7fd3a3370c28f90f235dcc5dac1333e",
            ["/object-map/diff"] = $"object-map/diff?from={fx.Commit1}&to={fx.Commit2}",
        };

        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();

        Assert.Equal(examples.Keys.Order(StringComparer.Ordinal), paths.Order(StringComparer.Ordinal));
        foreach (var path in paths)
        {
            using var response = await http.GetAsync(examples[path]);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{examples[path]}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task GetPath_WithoutAnObjectMap_Answers503()
    {
        await using var server = await RunningServer.StartAsync(Fixtures.SmallRepo.ArchiveRepo);
        using var http = server.CreateClient();

        using var response = await http.GetAsync("object-map/paths/etc");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task Startup_ConfiguredObjectMapMissing_FailsWithOneLine()
    {
        var error = new StringWriter();

        var code = await RepoWebserverHost.RunAsync(["--repo", Fixtures.SmallRepo.ArchiveRepo, "--object-map", "/nonexistent/object-map", "--urls", "http://127.0.0.1:0"], error);

        Assert.Equal(1, code);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("repo-webserver: error: cannot open object map /nonexistent/object-map", line);
    }
}
