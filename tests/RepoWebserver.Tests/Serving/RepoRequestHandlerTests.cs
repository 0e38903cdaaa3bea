using System.Net;
using System.Text;

namespace OstreeContainer.RepoWebserver.Tests.Serving;

/// <summary>
/// A copy of the fixture archive repo with files that exist on disk but must never be
/// served (<c>tmp/</c>, <c>state/</c>, <c>refs/remotes</c>, <c>.lock</c>), behind one server.
/// </summary>
public sealed class ForbiddenFilesServer : IAsyncLifetime
{
    private TempRepo _repo = null!;

    /// <summary>A marker in every file the server must not serve.</summary>
    public string Secret { get; } = $"TOP-SECRET-{Guid.NewGuid():N}";

    internal RunningServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _repo = RepoCopies.Copy(Fixtures.SmallRepo.ArchiveRepo, "forbidden");
        var r = _repo.Path;
        foreach (var file in new[] { "tmp/secret", "state/secret", "refs/remotes/origin/secret", "extensions/secret", "objects/secret" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(r, file))!);
            File.WriteAllText(Path.Combine(r, file), Secret);
        }

        File.WriteAllText(Path.Combine(r, ".lock"), Secret);
        Server = await RunningServer.StartAsync(r);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _repo.Dispose();
    }
}

/// <summary>
/// The allow-list seen from the wire: traversal and encoding tricks sent verbatim over TCP,
/// files outside the servable set, missing files (404, never 5xx) and methods (405).
/// </summary>
public class RepoRequestHandlerTests(ForbiddenFilesServer fixture) : IClassFixture<ForbiddenFilesServer>
{
    private const string Zeros = "00000000000000000000000000000000000000000000000000000000000000";

    [Theory]
    [InlineData("/repo/../config")]
    [InlineData("/repo/../../../../etc/passwd")]
    [InlineData("/repo/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/repo/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd")]
    [InlineData("/repo/objects%2f..%2f..%2f..%2f..%2fetc%2fpasswd")]
    [InlineData("/repo/objects/..%2f..%2f..%2f..%2fetc/passwd")]
    [InlineData("/repo/refs/heads/..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd")]
    [InlineData("/repo/objects\\..\\..\\..\\..\\etc\\passwd")]
    [InlineData("/repo/..\\..\\..\\etc\\passwd")]
    [InlineData("/repo/%5c..%5c..%5c..%5cetc%5cpasswd")]
    [InlineData("/repo//etc/passwd")]
    [InlineData("/repo///etc/passwd")]
    [InlineData("/repo/%2fetc%2fpasswd")]
    [InlineData("//etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("http://127.0.0.1/etc/passwd")]
    [InlineData("http://127.0.0.1/repo/../../etc/passwd")]
    [InlineData("/repo/summary%00/../../etc/passwd")]
    [InlineData("/repo/config%00")]
    [InlineData("/repo/%00")]
    public async Task Get_TraversalOrEncodingTrick_IsNeverAnsweredWithAFileOutside(string target)
    {
        var response = await RawHttp.SendAsync(fixture.Server.Port, "GET", target);

        Assert.InRange(response.Status, 400, 404);
        Assert.DoesNotContain("root:", Encoding.Latin1.GetString(response.Body), StringComparison.Ordinal);
        Assert.Empty(response.Body);
    }

    [Theory]
    [InlineData("/repo/tmp/secret")]
    [InlineData("/repo/state/secret")]
    [InlineData("/repo/refs/remotes/origin/secret")]
    [InlineData("/repo/extensions/secret")]
    [InlineData("/repo/objects/secret")]
    [InlineData("/repo/.lock")]
    [InlineData("/repo/refs/heads/../../tmp/secret")]
    [InlineData("/repo/refs/heads/%2e%2e/%2e%2e/state/secret")]
    [InlineData("/repo/refs/heads/..%2f..%2ftmp%2fsecret")]
    [InlineData("/repo/deltas/../tmp/secret")]
    [InlineData("/repo/objects/")]
    [InlineData("/repo/objects")]
    [InlineData("/repo/")]
    [InlineData("/repo")]
    [InlineData("/repo/refs/heads/")]
    [InlineData("/repo/refs/")]
    [InlineData("/repo/deltas/")]
    [InlineData("/repo/refs/heads/fixture")]
    [InlineData("/repo/refs/heads/.hidden")]
    [InlineData("/repo/deltas/.")]
    public async Task Get_FileOrListingOutsideTheAllowList_Answers404(string target)
    {
        var response = await RawHttp.SendAsync(fixture.Server.Port, "GET", target);

        Assert.Equal(404, response.Status);
        Assert.DoesNotContain(fixture.Secret, Encoding.Latin1.GetString(response.Body), StringComparison.Ordinal);
        Assert.Empty(response.Body);
    }

    [Fact]
    public async Task Get_ForbiddenFileExistsOnDisk_ControlShowsTheSecretIsReadable()
    {
        // Control for the tests above: the planted files are there and readable, so a 404
        // means the server refused them, not that they were missing.
        var response = await RawHttp.SendAsync(fixture.Server.Port, "GET", "/repo/refs/heads/fixture/main");

        Assert.Equal(200, response.Status);
        Assert.Equal(Fixtures.SmallRepo.Commit2, Encoding.ASCII.GetString(response.Body).Trim());
    }

    [Theory]
    [InlineData("/repo/objects/00/" + Zeros + ".commit")]
    [InlineData("/repo/objects/00/" + Zeros + ".filez")]
    [InlineData("/repo/objects/00/" + Zeros + ".dirtree")]
    [InlineData("/repo/objects/00/" + Zeros + ".commitmeta")]
    [InlineData("/repo/objects/00/" + Zeros + ".file")]
    [InlineData("/repo/objects/00/" + Zeros + ".tombstone-commit")]
    [InlineData("/repo/objects/ZZ/" + Zeros + ".commit")]
    [InlineData("/repo/objects/00/" + Zeros + "0.commit")]
    [InlineData("/repo/refs/heads/no/such/ref")]
    [InlineData("/repo/refs/mirrors/org.example/no-such-ref")]
    [InlineData("/repo/deltas/no/such/superblock")]
    [InlineData("/repo/delta-indexes/no/such.index")]
    [InlineData("/repo/summary.sig")]
    [InlineData("/nothing/here")]
    public async Task Get_MissingFile_Answers404(string target)
    {
        using var http = fixture.Server.CreateClient();

        using var headRequest = new HttpRequestMessage(HttpMethod.Head, target);

        using var response = await http.GetAsync(target);
        using var head = await http.SendAsync(headRequest);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    [Theory]
    [InlineData("POST", "/repo/config")]
    [InlineData("PUT", "/repo/refs/heads/fixture/main")]
    [InlineData("DELETE", "/repo/summary")]
    [InlineData("PATCH", "/repo/objects/00/" + Zeros + ".commit")]
    [InlineData("OPTIONS", "/repo/config")]
    public async Task Send_MethodOtherThanGetOrHead_Answers405WithAllow(string method, string target)
    {
        using var http = fixture.Server.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), target) { Content = new ByteArrayContent([1, 2, 3]) };

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["GET", "HEAD"], response.Content.Headers.Allow.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Get_DeltaPathWithPlus_IsServedVerbatim()
    {
        // Delta names contain '+', which a server must not turn into a space (ostree-format.md §8.1).
        var fx = Fixtures.SmallRepo;
        var dir = RepoRequestHandlerPullTests.DeltaDirectory(fx.Commit1, fx.Commit2);
        Assert.Contains('+', dir);
        using var http = fixture.Server.CreateClient();

        var superblock = await http.GetByteArrayAsync($"repo/deltas/{dir}/superblock");

        Assert.Equal(File.ReadAllBytes(Path.Combine(fx.ArchiveRepo, "deltas", dir, "superblock")), superblock);
    }
}
