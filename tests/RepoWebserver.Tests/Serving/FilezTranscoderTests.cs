using System.IO.Compression;
using Microsoft.Extensions.Logging;

namespace OstreeContainer.RepoWebserver.Tests.Serving;

/// <summary>
/// bare-user repos served as archive-z2: the real <c>ostree pull</c> accepts the
/// synthesised <c>.filez</c> and <c>config</c>, and corrupt sources are never served.
/// </summary>
public class FilezTranscoderTests
{
    [Theory]
    [InlineData("archive")]
    [InlineData("bare-user")]
    public async Task Pull_FixtureBareUserSource_ClientFscksWithTheSourceRefs(string clientMode)
    {
        var requests = await PullScenario.PullEveryRefAsync(Fixtures.SmallRepo.BareUserRepo, clientMode);

        Assert.Contains(requests, r => r.Path.EndsWith(".filez", StringComparison.Ordinal) && r.Status == 200);
    }

    [Fact]
    public async Task Pull_OsBareUserSource_ClientFscksAndHasC2()
    {
        var os = Fixtures.OsRepo;
        await using var server = await RunningServer.StartAsync(RepoCopies.OsBareUserRepo);
        using var client = OstreeClient.Create("bare-user", server.RepoUrl);

        client.Pull("origin", os.Branch);

        client.Fsck();
        Assert.Equal(os.Commit2, client.RevParse("origin:" + os.Branch));
        Assert.DoesNotContain(server.Requests, r => r.Status >= 500);
    }

    [Fact]
    public async Task Get_ConfigOfBareUserRepo_SaysArchiveZ2()
    {
        await using var server = await RunningServer.StartAsync(Fixtures.SmallRepo.BareUserRepo);
        using var http = server.CreateClient();

        var config = await http.GetStringAsync("repo/config");

        Assert.Contains("mode=archive-z2", config, StringComparison.Ordinal);
        Assert.DoesNotContain("bare-user", config, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_FilezOfBareUserFile_InflatesToTheFileContent()
    {
        var fx = Fixtures.SmallRepo;
        var checksum = HelloChecksum();
        await using var server = await RunningServer.StartAsync(fx.BareUserRepo);
        using var http = server.CreateClient();

        var filez = await http.GetByteArrayAsync("repo/" + RepoCopies.ObjectUrl(checksum, "filez"));

        // archive header: BE32 header length, 4 bytes padding, header, then raw DEFLATE (§5).
        var headerLength = (filez[0] << 24) | (filez[1] << 16) | (filez[2] << 8) | filez[3];
        using var inflate = new DeflateStream(new MemoryStream(filez, 8 + headerLength, filez.Length - 8 - headerLength), CompressionMode.Decompress);
        using var content = new MemoryStream();
        await inflate.CopyToAsync(content);
        Assert.Equal(File.ReadAllBytes(Path.Combine(fx.Tree("tree"), "etc", "hello.txt")), content.ToArray());
    }

    [Fact]
    public async Task Get_FilezOfCorruptBareUserFile_Answers404Not500()
    {
        var checksum = HelloChecksum();
        using var source = RepoCopies.Copy(Fixtures.SmallRepo.BareUserRepo, "corrupt-bareuser");
        var file = RepoCopies.ObjectPath(source.Path, checksum, "file");
        // Same length, different bytes: only the checksum can tell.
        var bytes = File.ReadAllBytes(file);
        bytes[0] ^= 0x20;
        File.WriteAllBytes(file, bytes);
        await using var server = await RunningServer.StartAsync(source.Path);
        using var http = server.CreateClient();

        using var first = await http.GetAsync("repo/" + RepoCopies.ObjectUrl(checksum, "filez"));
        using var second = await http.GetAsync("repo/" + RepoCopies.ObjectUrl(checksum, "filez"));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, first.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, second.StatusCode);
        // A failed transcode leaves nothing behind in the cache.
        Assert.Empty(Directory.EnumerateFiles(server.CacheDirectory));
        // The operator learns why, for each 404: the object and the checksum mismatch.
        var warnings = server.Logs.Entries.Where(e => e.EventId.Id == 300).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.Equal(LogLevel.Warning, w.Level));
        Assert.All(warnings, w => Assert.Contains(RepoCopies.ObjectUrl(checksum, "filez"), w.Message, StringComparison.Ordinal));
        Assert.All(warnings, w => Assert.IsType<InvalidDataException>(w.Exception));
    }

    [Fact]
    public async Task Get_FilezRemovedFromTheCacheFolder_IsTranscodedAgain()
    {
        // No memory cache, so the second request reads the cache folder, which a temp-file
        // cleaner has emptied in between.
        var url = "repo/" + RepoCopies.ObjectUrl(HelloChecksum(), "filez");
        await using var server = await RunningServer.StartAsync(Fixtures.SmallRepo.BareUserRepo, "--RepoWebserver:MemoryCacheBytes=0");
        using var http = server.CreateClient();
        var first = await http.GetByteArrayAsync(url);
        foreach (var cached in Directory.EnumerateFiles(server.CacheDirectory))
        {
            File.Delete(cached);
        }

        var second = await http.GetByteArrayAsync(url);

        Assert.Equal(first, second);
        Assert.NotEmpty(Directory.EnumerateFiles(server.CacheDirectory));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("4096")]
    public async Task Pull_BareUserSourceWithTinyTranscodeCache_ClientFscks(string budget)
    {
        // Every transcoded file overflows the budget, so each is evicted right after it is made.
        var source = Fixtures.SmallRepo.BareUserRepo;
        var expected = OstreeClient.RefCommits(source);
        await using var server = await RunningServer.StartAsync(source, "--cache-budget", budget);
        using var client = OstreeClient.Create("archive", server.RepoUrl);

        client.Pull(["origin", .. expected.Select(r => r.Ref)]);

        client.Fsck();
        Assert.DoesNotContain(server.Requests, r => r.Status >= 500);
    }

    [Fact]
    public async Task Get_SameFilezByManyClientsAtOnce_EveryoneGetsTheSameBytes()
    {
        var checksum = HelloChecksum();
        await using var server = await RunningServer.StartAsync(Fixtures.SmallRepo.BareUserRepo);
        using var http = server.CreateClient();
        var url = "repo/" + RepoCopies.ObjectUrl(checksum, "filez");

        var bodies = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => http.GetByteArrayAsync(url)));

        Assert.All(bodies, b => Assert.Equal(bodies[0], b));
        Assert.NotEmpty(bodies[0]);
    }

    /// <summary>The checksum of <c>/etc/hello.txt</c> in fixture/v1, from <c>ostree ls -C</c>.</summary>
    private static string HelloChecksum()
    {
        var line = Peer.Ostree(Fixtures.SmallRepo.ArchiveRepo, "ls", "-C", "fixture/v1", "/etc/hello.txt").Trim();
        return line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];
    }
}
