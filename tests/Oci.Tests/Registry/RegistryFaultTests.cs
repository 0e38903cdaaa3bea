using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Oci.Tests.Registry;

/// <summary>Transient faults injected by a proxy in front of a real docker-registry, and hard failures.</summary>
public class RegistryFaultTests
{
    [Fact]
    public async Task Push_ServerErrorsThenOk_RetriesAndCompletes()
    {
        using var registry = LocalRegistry.Start();
        using var proxy = new RegistryFaultProxy(registry.Port);
        proxy.Inject("HEAD", "/blobs/", HttpFault.ServerError);
        proxy.Inject("POST", "/blobs/uploads/", HttpFault.ServerError);
        proxy.Inject("PUT", "/manifests/v1", HttpFault.ServerError, times: 2);
        var log = new List<string>();
        var testImage = TestImage.Create();
        using (var client = new RegistryClient(Options(log)))
        {
            await testImage.PushAsync(client, ImageReference.Parse($"docker://{proxy.Host}/test/app:v1"), "v1");
        }

        // A HEAD answer has no body, so only three of the four carry the registry's error text.
        Assert.Equal(4, log.Count(line => line.Contains("registry failed (HTTP 500", StringComparison.Ordinal)));
        Assert.Equal(3, log.Count(line => line.Contains("(HTTP 500: UNAVAILABLE: injected fault)", StringComparison.Ordinal)));
        Assert.Contains(log, line => line.Contains("retry 2 of 3", StringComparison.Ordinal));
        await AssertRegistryHasAsync(registry, testImage);

        // Upload URLs carry the registry's upload state in their query; logs never show URLs.
        Assert.DoesNotContain(log, line => line.Contains("_state", StringComparison.Ordinal) || line.Contains("/v2/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ping_PlainHttpRegistryWithTlsVerify_FinalTlsErrorWithHint()
    {
        using var registry = LocalRegistry.Start();
        var image = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
        using var client = new RegistryClient(new RegistryClientOptions { Environment = new Dictionary<string, string>(), MaxRetries = 3 });

        var error = await Assert.ThrowsAsync<RegistryException>(() => client.PingAsync(image, TestContext.Current.CancellationToken));

        Assert.Equal(RegistryErrorKind.Unreachable, error.Kind);
        Assert.Contains("TLS handshake failed", error.Message, StringComparison.Ordinal);
        Assert.Contains("--tls-verify=false", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("gave up", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetManifest_TooManyRequestsWithRetryAfter_WaitsThenSucceeds()
    {
        using var registry = LocalRegistry.Start();
        using var proxy = new RegistryFaultProxy(registry.Port);
        var log = new List<string>();
        var testImage = TestImage.Create(layers: 1);
        var image = ImageReference.Parse($"docker://{proxy.Host}/test/app:v1");
        using var client = new RegistryClient(Options(log));
        await testImage.PushAsync(client, image, "v1");

        proxy.Inject("GET", "/manifests/v1", HttpFault.TooManyRequests);
        var clock = Stopwatch.StartNew();
        var manifest = await client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken);

        Assert.Equal(testImage.ManifestDigest, manifest.Digest);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"waited only {clock.Elapsed}");
        Assert.Contains(log, line => line.Contains("too many requests", StringComparison.Ordinal) && line.Contains("in 1 s", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0, "PUT")]
    [InlineData(32 * 1024, "PATCH")]
    public async Task PushBlob_ConnectionDroppedMidUpload_ReopensContentAndCompletes(long chunkSize, string method)
    {
        using var registry = LocalRegistry.Start();
        using var proxy = new RegistryFaultProxy(registry.Port);
        proxy.Inject(method, "/blobs/uploads/", HttpFault.DropDuringRequestBody);
        var log = new List<string>();
        var testImage = TestImage.Create(layers: 1, layerBytes: 256 * 1024);
        var image = ImageReference.Parse($"docker://{proxy.Host}/test/app:v1");
        var (layer, bytes) = testImage.Blobs[1];
        var opens = 0;
        using var client = new RegistryClient(Options(log) with { ChunkSize = chunkSize });

        await client.PushBlobAsync(image, layer, () =>
        {
            Interlocked.Increment(ref opens);
            return new MemoryStream(bytes, writable: false);
        }, TestContext.Current.CancellationToken);

        Assert.True(2 == opens, string.Join("\n", proxy.Log.Select(r => r.ToString()).Concat(log)));
        Assert.Contains(proxy.Log, r => r.Method == method && r.Fault == HttpFault.DropDuringRequestBody);
        var retry = Assert.Single(log, line => line.Contains("retry", StringComparison.Ordinal));
        Assert.Contains($"pushing blob {layer.Digest.ToString()[..19]} to {proxy.Host}/test/app:", retry, StringComparison.Ordinal);
        TestContext.Current.TestOutputHelper?.WriteLine(retry);
        Assert.Equal(bytes, File.ReadAllBytes(registry.BlobDataPath(layer.Digest.ToString())));
    }

    [Fact]
    public async Task GetManifest_ResponseStalls_IdleTimeoutRetries()
    {
        using var registry = LocalRegistry.Start();
        using var proxy = new RegistryFaultProxy(registry.Port);
        var log = new List<string>();
        var testImage = TestImage.Create(layers: 1);
        var image = ImageReference.Parse($"docker://{proxy.Host}/test/app:v1");
        using var client = new RegistryClient(Options(log) with { IdleTimeout = TimeSpan.FromMilliseconds(500) });
        await testImage.PushAsync(client, image, "v1");

        proxy.Inject("GET", "/manifests/v1", HttpFault.StallDuringResponseBody);
        var manifest = await client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken);

        Assert.Equal(testImage.Manifest, manifest.Bytes);
        Assert.Contains(log, line => line.Contains("no data from", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetBlob_ConnectionDroppedMidBody_ResumesFromOffset()
    {
        using var registry = LocalRegistry.Start();
        using var proxy = new RegistryFaultProxy(registry.Port);
        var testImage = TestImage.Create(layers: 1, layerBytes: 256 * 1024);
        var image = ImageReference.Parse($"docker://{proxy.Host}/test/app:v1");
        var (layer, bytes) = testImage.Blobs[1];
        using var client = new RegistryClient(Options([]));
        await testImage.PushAsync(client, image, "v1");

        proxy.Inject("GET", "/blobs/sha256:", HttpFault.DropDuringResponseBody);
        var received = new MemoryStream();
        await using (var first = await client.GetBlobUnverifiedAsync(image, layer.Digest, 0, TestContext.Current.CancellationToken))
        {
            // The blob stream is the caller's to resume: it reports the break, the caller asks for the rest.
            await Assert.ThrowsAnyAsync<IOException>(() => first.CopyToAsync(received, TestContext.Current.CancellationToken));
        }

        Assert.InRange(received.Length, 1, bytes.Length - 1);
        await using (var rest = await client.GetBlobUnverifiedAsync(image, layer.Digest, received.Length, TestContext.Current.CancellationToken))
        {
            await rest.CopyToAsync(received, TestContext.Current.CancellationToken);
        }

        Assert.Equal(bytes, received.ToArray());
        Assert.Equal(Digest.Compute(received.ToArray()), layer.Digest);
    }

    [Fact]
    public async Task GetManifest_RetryBudgetExhausted_OneClearLine()
    {
        using var registry = LocalRegistry.Start();
        using var proxy = new RegistryFaultProxy(registry.Port);
        proxy.Inject("GET", "/manifests/v1", HttpFault.ServerError, times: 10);
        var image = ImageReference.Parse($"docker://{proxy.Host}/test/app:v1");
        using var client = new RegistryClient(Options([]) with { MaxRetries = 2 });

        var error = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken));

        Assert.Equal(RegistryErrorKind.Server, error.Kind);
        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal(
            $"getting manifest v1 from {proxy.Host}/test/app: registry failed (HTTP 500: UNAVAILABLE: injected fault) (gave up after 2 retries)",
            error.Message);
        Assert.Equal(3, proxy.Log.Count(r => r is { Method: "GET", Path: "/v2/test/app/manifests/v1" }));
    }

    [Fact]
    public async Task Ping_ClosedPort_UnreachableNamingHostAndPort()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var image = ImageReference.Parse($"docker://127.0.0.1:{port}/test/app:v1");
        using var client = new RegistryClient(Options([]));
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RegistryException>(() => client.PingAsync(image, TestContext.Current.CancellationToken));

        Assert.Equal(RegistryErrorKind.Unreachable, error.Kind);
        Assert.Contains($"cannot reach registry 127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("ConnectionRefused", error.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "a refused first contact is not retried");
    }

    [Fact]
    public async Task GetManifest_BytesDoNotMatchRequestedDigest_ProtocolError()
    {
        using var fake = new FakeBearerRegistry(requireAuth: false);
        var real = TestImage.Create(layers: 1);
        var other = TestImage.Create(layers: 1);
        fake.Manifests[real.ManifestDigest.ToString()] = (other.Manifest, MediaTypes.OciManifest);
        var image = ImageReference.Parse($"docker://{fake.Host}/test/app:v1");
        using var client = new RegistryClient(Options([]));

        var error = await Assert.ThrowsAsync<RegistryException>(
            () => client.GetManifestAsync(image, real.ManifestDigest.ToString(), TestContext.Current.CancellationToken));

        Assert.Equal(RegistryErrorKind.Protocol, error.Kind);
        Assert.Contains($"hash to {other.ManifestDigest}, not the requested {real.ManifestDigest}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetManifest_OversizedDocument_ProtocolError()
    {
        using var fake = new FakeBearerRegistry(requireAuth: false);
        fake.Manifests["big"] = (new byte[Images.OciJson.MaxDocumentBytes + 1], MediaTypes.OciManifest);
        var image = ImageReference.Parse($"docker://{fake.Host}/test/app:v1");
        using var client = new RegistryClient(Options([]));

        var error = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(image, "big", TestContext.Current.CancellationToken));

        Assert.Equal(RegistryErrorKind.Protocol, error.Kind);
        Assert.Contains("limit", error.Message, StringComparison.Ordinal);
    }

    private static RegistryClientOptions Options(List<string> log) => RegistryClientPushTests.Insecure() with
    {
        MaxRetries = 3,
        LoggerFactory = new TestLogs(line =>
        {
            lock (log)
            {
                log.Add(line);
            }
        }),
    };

    private static async Task AssertRegistryHasAsync(LocalRegistry registry, TestImage testImage)
    {
        using var direct = new RegistryClient(RegistryClientPushTests.Insecure());
        var image = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
        Assert.Equal(testImage.ManifestDigest, (await direct.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken)).Digest);
        foreach (var (descriptor, _) in testImage.Blobs)
        {
            Assert.True(await direct.BlobExistsAsync(image, descriptor.Digest, TestContext.Current.CancellationToken));
        }
    }
}
