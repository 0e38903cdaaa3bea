using System.Net;
using System.Net.Http.Headers;

namespace OstreeContainer.RepoWebserver.Tests.Serving;

/// <summary>
/// RFC 9110 semantics of repo file responses (HEAD, Range, preconditions, caching) and the
/// transport rules <c>ostree pull</c> depends on (no compression, h2c upgrade ignored),
/// checked on the wire against the fixture archive repo.
/// </summary>
public sealed class RepoFileResponderTests : IAsyncLifetime
{
    private static readonly string Repo = Fixtures.SmallRepo.ArchiveRepo;
    private static readonly string CommitUrl = "repo/" + RepoCopies.ObjectUrl(Fixtures.SmallRepo.Commit2, "commit");
    private static readonly byte[] CommitBytes = File.ReadAllBytes(RepoCopies.ObjectPath(Repo, Fixtures.SmallRepo.Commit2, "commit"));

    private RunningServer _server = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await RunningServer.StartAsync(Repo);
        _http = _server.CreateClient();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Head_Object_SendsHeadersAndLengthButNoBody()
    {
        var response = await RawHttp.SendAsync(_server.Port, "HEAD", "/" + CommitUrl);

        Assert.Equal(200, response.Status);
        Assert.Equal(CommitBytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Header("Content-Length"));
        Assert.NotNull(response.Header("ETag"));
        Assert.NotNull(response.Header("Last-Modified"));
        Assert.Empty(response.Body);
    }

    [Fact]
    public async Task Get_Object_SendsTheFileWithValidators()
    {
        using var response = await _http.GetAsync(CommitUrl);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(CommitBytes, await response.Content.ReadAsByteArrayAsync());
        Assert.True(response.Headers.ETag is { IsWeak: false }, "expected a strong ETag");
        Assert.Equal("bytes", Assert.Single(response.Headers.AcceptRanges));
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("bytes=0-9", 0, 10)]
    [InlineData("bytes=-5", -5, 5)]
    [InlineData("bytes=5-", 5, -1)]
    [InlineData("bytes=100-100000", 100, -1)]
    public async Task Get_SingleRange_Answers206WithThoseBytes(string range, int start, int length)
    {
        var from = start < 0 ? CommitBytes.Length + start : start;
        var count = length < 0 ? CommitBytes.Length - from : length;
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.TryAddWithoutValidation("Range", range);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(CommitBytes.AsSpan(from, count).ToArray(), await response.Content.ReadAsByteArrayAsync());
        Assert.Equal($"bytes {from}-{from + count - 1}/{CommitBytes.Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(count, response.Content.Headers.ContentLength);
    }

    [Theory]
    [InlineData("bytes={0}-")]
    [InlineData("bytes={0}-{1}")]
    [InlineData("bytes=-0")]
    public async Task Get_UnsatisfiableRange_Answers416WithTheLength(string template)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.TryAddWithoutValidation("Range", string.Format(System.Globalization.CultureInfo.InvariantCulture, template, CommitBytes.Length, CommitBytes.Length + 10));

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal($"bytes */{CommitBytes.Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("bytes=0-1,4-5")]
    [InlineData("bytes=0-1, -3")]
    [InlineData("bytes=abc")]
    [InlineData("items=0-9")]
    [InlineData("bytes=9-2")]
    public async Task Get_MultipleOrInvalidRanges_AnswersTheWholeFile(string range)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.TryAddWithoutValidation("Range", range);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(CommitBytes, await response.Content.ReadAsByteArrayAsync());
        Assert.Null(response.Content.Headers.ContentRange);
    }

    [Fact]
    public async Task Get_IfNoneMatchWithTheETag_Answers304WithoutBody()
    {
        var etag = await ETagAsync(CommitUrl);
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.IfNoneMatch.Add(etag);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal(etag, response.Headers.ETag);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Get_IfNoneMatchWithAnotherETag_Answers200()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"something-else\""));

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(CommitBytes, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Get_IfMatchWithWrongETag_Answers412()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.IfMatch.Add(new EntityTagHeaderValue("\"not-this-one\""));

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Get_IfMatchWithTheETag_Answers200()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.IfMatch.Add(await ETagAsync(CommitUrl));

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Get_IfModifiedSinceLastModified_Answers304()
    {
        var lastModified = await LastModifiedAsync(CommitUrl);
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.IfModifiedSince = lastModified;

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    [Fact]
    public async Task Get_IfModifiedSinceBeforeLastModified_Answers200()
    {
        var lastModified = await LastModifiedAsync(CommitUrl);
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.IfModifiedSince = lastModified.AddSeconds(-1);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Get_IfUnmodifiedSinceInThePast_Answers412()
    {
        var lastModified = await LastModifiedAsync(CommitUrl);
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.IfUnmodifiedSince = lastModified.AddDays(-1);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
    }

    [Fact]
    public async Task Get_IfRangeWithStaleETag_AnswersTheWholeFile()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.TryAddWithoutValidation("Range", "bytes=0-9");
        request.Headers.TryAddWithoutValidation("If-Range", "\"stale\"");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(CommitBytes, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Get_IfRangeWithCurrentETag_Answers206()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.TryAddWithoutValidation("Range", "bytes=0-9");
        request.Headers.TryAddWithoutValidation("If-Range", (await ETagAsync(CommitUrl)).ToString());

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(CommitBytes[..10], await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Get_IfRangeWithLastModifiedDate_Answers206()
    {
        var lastModified = await LastModifiedAsync(CommitUrl);
        using var request = new HttpRequestMessage(HttpMethod.Get, CommitUrl);
        request.Headers.TryAddWithoutValidation("Range", "bytes=0-9");
        request.Headers.TryAddWithoutValidation("If-Range", lastModified.ToString("r", System.Globalization.CultureInfo.InvariantCulture));

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
    }

    [Theory]
    [InlineData("commit")]
    [InlineData("dirtree")]
    [InlineData("filez")]
    [InlineData("delta")]
    public async Task Get_ContentAddressedFile_IsCachedAsImmutable(string which)
    {
        var url = which switch
        {
            "commit" => CommitUrl,
            "delta" => $"repo/deltas/{RepoRequestHandlerPullTests.DeltaDirectory(Fixtures.SmallRepo.Commit1, Fixtures.SmallRepo.Commit2)}/superblock",
            _ => "repo/" + FirstObject(which),
        };

        using var response = await _http.GetAsync(url);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cache = response.Headers.CacheControl!;
        Assert.True(cache.Public);
        Assert.Equal(TimeSpan.FromDays(365), cache.MaxAge);
        Assert.Contains(cache.Extensions, e => e.Name == "immutable");
    }

    [Theory]
    [InlineData("repo/refs/heads/fixture/main")]
    [InlineData("repo/summary")]
    [InlineData("repo/config")]
    [InlineData("delta-index")]
    public async Task Get_MutableFile_IsCachedBriefly(string url)
    {
        if (url == "delta-index")
        {
            var target = RepoRequestHandlerPullTests.ModifiedBase64(Fixtures.SmallRepo.Commit2);
            url = $"repo/delta-indexes/{target[..2]}/{target[2..]}.index";
        }

        using var response = await _http.GetAsync(url);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cache = response.Headers.CacheControl!;
        Assert.InRange(cache.MaxAge!.Value, TimeSpan.Zero, TimeSpan.FromMinutes(5));
        Assert.DoesNotContain(cache.Extensions, e => e.Name == "immutable");
    }

    [Theory]
    [InlineData("commit")]
    [InlineData("summary")]
    public async Task Get_AcceptEncodingGzip_SendsTheFileUncompressed(string which)
    {
        var (url, file) = which == "summary"
            ? ("repo/summary", File.ReadAllBytes(Path.Combine(Repo, "summary")))
            : (CommitUrl, CommitBytes);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.AcceptEncoding.ParseAdd("gzip, deflate, br, zstd");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Equal(file, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Get_WithLibostreeH2cUpgradeHeaders_AnswersPlainHttp11()
    {
        // Exactly what libostree 2022.7 sends (ostree-format.md §10.1).
        var response = await RawHttp.SendAsync(
            _server.Port,
            "GET",
            "/" + CommitUrl,
            "User-Agent: libostree/2022.7",
            "Accept: */*",
            "Connection: Upgrade, HTTP2-Settings",
            "Upgrade: h2c",
            "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA");

        Assert.Equal("HTTP/1.1 200 OK", response.StatusLine);
        Assert.Null(response.Header("Upgrade"));
        Assert.Equal(CommitBytes, response.Body);
    }

    [Fact]
    public async Task Get_RangesOfALargeObjectSentFromDisk_AreExact()
    {
        // Objects above the memory cache's per-file limit (256 KiB) go out with sendfile.
        var os = Fixtures.OsRepo;
        var large = Directory.EnumerateFiles(Path.Combine(os.Repo, "objects"), "*.filez", SearchOption.AllDirectories)
            .First(f => new FileInfo(f).Length > 1024 * 1024);
        var bytes = File.ReadAllBytes(large);
        var url = "repo/" + Path.GetRelativePath(os.Repo, large);
        await using var server = await RunningServer.StartAsync(os.Repo);
        using var http = server.CreateClient();
        using var ranged = new HttpRequestMessage(HttpMethod.Get, url);
        ranged.Headers.TryAddWithoutValidation("Range", "bytes=300000-300099");
        using var suffix = new HttpRequestMessage(HttpMethod.Get, url);
        suffix.Headers.TryAddWithoutValidation("Range", "bytes=-7");

        var whole = await http.GetByteArrayAsync(url);
        using var rangedResponse = await http.SendAsync(ranged);
        using var suffixResponse = await http.SendAsync(suffix);
        var head = await RawHttp.SendAsync(server.Port, "HEAD", "/" + url);

        Assert.Equal(bytes, whole);
        Assert.Equal(HttpStatusCode.PartialContent, rangedResponse.StatusCode);
        Assert.Equal(bytes[300000..300100], await rangedResponse.Content.ReadAsByteArrayAsync());
        Assert.Equal(bytes[^7..], await suffixResponse.Content.ReadAsByteArrayAsync());
        Assert.Equal(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), head.Header("Content-Length"));
        Assert.Empty(head.Body);
    }

    private async Task<EntityTagHeaderValue> ETagAsync(string url)
    {
        using var response = await _http.GetAsync(url);
        return response.Headers.ETag ?? throw new InvalidOperationException($"{url}: no ETag");
    }

    private async Task<DateTimeOffset> LastModifiedAsync(string url)
    {
        using var response = await _http.GetAsync(url);
        return response.Content.Headers.LastModified ?? throw new InvalidOperationException($"{url}: no Last-Modified");
    }

    /// <summary>The URL path of some object of this kind in the fixture repo.</summary>
    private static string FirstObject(string extension)
    {
        var file = Directory.EnumerateFiles(Path.Combine(Repo, "objects"), "*." + extension, SearchOption.AllDirectories).First();
        return Path.GetRelativePath(Repo, file);
    }
}
