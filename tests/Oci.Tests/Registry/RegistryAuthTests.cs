using System.Text;
using System.Text.Json;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Oci.Tests.Registry;

/// <summary>Basic auth against a real htpasswd-protected docker-registry; bearer tokens against a fake token service.</summary>
public class RegistryAuthTests
{
    private const string User = "tester";
    private const string Password = "s3cret-pa:ss";

    [Fact]
    public async Task Push_HtpasswdWithCredsOption_SucceedsAndSkopeoAgrees()
    {
        using var registry = LocalRegistry.Start(User, Password);
        var image = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
        var testImage = TestImage.Create(layers: 1);
        using (var client = new RegistryClient(RegistryClientPushTests.Insecure() with { Credentials = new RegistryCredentials(User, Password) }))
        {
            await client.PingAsync(image, TestContext.Current.CancellationToken);
            await testImage.PushAsync(client, image, "v1");
        }

        var inspect = Peer.Run(
                "skopeo",
                ["inspect", "--tls-verify=false", $"--creds={User}:{Password}", $"docker://{registry.Host}/test/app:v1"],
                timeout: TimeSpan.FromMinutes(1))
            .EnsureSuccess("skopeo inspect");
        using var json = JsonDocument.Parse(inspect.Stdout);
        Assert.Equal(testImage.ManifestDigest.ToString(), json.RootElement.GetProperty("Digest").GetString());
    }

    [Fact]
    public async Task Push_HtpasswdWithAuthFile_FindsCredentialsExplicitlyAndInDockerConfig()
    {
        using var registry = LocalRegistry.Start(User, Password);
        var home = Directory.CreateTempSubdirectory("registry-home-").FullName;
        try
        {
            // docker login's format: base64("user:pass") under the host key.
            var config = Path.Combine(home, ".docker", "config.json");
            Directory.CreateDirectory(Path.GetDirectoryName(config)!);
            var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"));
            File.WriteAllText(config, "{\"auths\":{\"" + registry.Host + "\":{\"auth\":\"" + auth + "\"}}}");

            var image = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
            using (var explicitFile = new RegistryClient(RegistryClientPushTests.Insecure() with { AuthFile = config }))
            {
                await TestImage.Create(layers: 1).PushAsync(explicitFile, image, "v1");
            }

            using var fromHome = new RegistryClient(RegistryClientPushTests.Insecure() with
            {
                Environment = new Dictionary<string, string> { ["HOME"] = home },
            });
            await TestImage.Create(layers: 1).PushAsync(fromHome, image, "v2");
            Assert.Equal(MediaTypes.OciManifest, (await fromHome.GetManifestAsync(image, "v2", TestContext.Current.CancellationToken)).MediaType);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public async Task Ping_HtpasswdWrongPassword_UnauthorizedOneLineWithoutPassword()
    {
        using var registry = LocalRegistry.Start(User, Password);
        var image = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
        var wrong = "Wr0ng-Secret-Value";
        var log = new List<string>();
        using var client = new RegistryClient(RegistryClientPushTests.Insecure() with
        {
            Credentials = new RegistryCredentials(User, wrong),
            LoggerFactory = new TestLogs(log.Add),
        });

        var error = await Assert.ThrowsAsync<RegistryException>(() => client.PingAsync(image, TestContext.Current.CancellationToken));
        Assert.Equal(RegistryErrorKind.Unauthorized, error.Kind);
        Assert.Contains($"authentication failed for {registry.Host} (check --creds or the auth file)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{wrong}")), error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain(log, line => line.Contains(wrong, StringComparison.Ordinal));

        var push = await Assert.ThrowsAsync<RegistryException>(() => TestImage.Create(layers: 1).PushAsync(client, image, "v1"));
        Assert.Equal(RegistryErrorKind.Unauthorized, push.Kind);
    }

    [Fact]
    public async Task PushManifest_FirstRequestChallenged_ResendsWithFreshBody()
    {
        using var registry = LocalRegistry.Start(User, Password);
        var image = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
        var testImage = TestImage.Create(layers: 1);
        var options = RegistryClientPushTests.Insecure() with { Credentials = new RegistryCredentials(User, Password) };
        using (var blobs = new RegistryClient(options))
        {
            foreach (var (descriptor, bytes) in testImage.Blobs)
            {
                await blobs.PushBlobAsync(image, descriptor, () => new MemoryStream(bytes), TestContext.Current.CancellationToken);
            }
        }

        // A new client learns the challenge from the PUT itself, whose body is then spent.
        var counter = new CountingHandler();
        using var client = new RegistryClient(options, counter);
        var digest = await client.PushManifestAsync(image, "v1", testImage.Manifest, MediaTypes.OciManifest, TestContext.Current.CancellationToken);

        Assert.Equal(testImage.ManifestDigest, digest);
        Assert.Equal(
            [("PUT", false), ("PUT", true)],
            counter.Requests.Where(r => r.PathAndQuery.Contains("/manifests/", StringComparison.Ordinal)).Select(r => (r.Method, r.HadAuthorization)));
        Assert.Equal(testImage.Manifest, (await client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken)).Bytes);
    }

    [Fact]
    public async Task Ping_HtpasswdNoCredentials_Unauthorized()
    {
        using var registry = LocalRegistry.Start(User, Password);
        var image = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
        using var client = new RegistryClient(RegistryClientPushTests.Insecure());

        var error = await Assert.ThrowsAsync<RegistryException>(() => client.PingAsync(image, TestContext.Current.CancellationToken));
        Assert.Equal(RegistryErrorKind.Unauthorized, error.Kind);
        Assert.Contains($"authentication required by {registry.Host}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("token")]
    [InlineData("access_token")]
    public async Task GetManifest_BearerAnonymous_FetchesOneTokenPerScopeAndReusesIt(string tokenField)
    {
        using var fake = new FakeBearerRegistry(tokenField: tokenField);
        var manifest = TestImage.Create(layers: 1).Manifest;
        fake.Manifests["v1"] = (manifest, MediaTypes.OciManifest);
        var image = ImageReference.Parse($"docker://{fake.Host}/test/app:v1");
        using var client = new RegistryClient(RegistryClientPushTests.Insecure());

        for (var i = 0; i < 3; i++)
        {
            var received = await client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken);
            Assert.Equal(manifest, received.Bytes);
        }

        var token = Assert.Single(fake.TokenRequests);
        Assert.Contains("service=fake-registry", token, StringComparison.Ordinal);
        Assert.Contains("scope=repository%3Atest%2Fapp%3Apull", token, StringComparison.Ordinal);
        Assert.EndsWith("| -", token, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetManifest_BearerWithCredentials_SendsBasicOnlyToRealmAndNothingToStorage()
    {
        var credentials = new RegistryCredentials(User, Password);
        using var fake = new FakeBearerRegistry(credentials);
        var testImage = TestImage.Create(layers: 1);
        fake.Manifests["v1"] = (testImage.Manifest, MediaTypes.OciManifest);
        var (layer, bytes) = testImage.Blobs[1];
        fake.Blobs[layer.Digest.ToString()] = bytes;
        var image = ImageReference.Parse($"docker://{fake.Host}/test/app:v1");
        using var client = new RegistryClient(RegistryClientPushTests.Insecure() with { Credentials = credentials });

        await client.PingAsync(image, TestContext.Current.CancellationToken);
        Assert.Equal(testImage.Manifest, (await client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken)).Bytes);
        await using (var blob = await client.GetBlobUnverifiedAsync(image, layer.Digest, 0, TestContext.Current.CancellationToken))
        {
            Assert.Equal(bytes, await RegistryClientPushTests.ReadAllAsync(blob));
        }

        Assert.All(fake.TokenRequests, request => Assert.EndsWith("| Basic", request, StringComparison.Ordinal));
        Assert.DoesNotContain(fake.RegistryAuthorizations, header => header.StartsWith("Basic", StringComparison.Ordinal));
        Assert.Contains(fake.RegistryAuthorizations, header => header.StartsWith("Bearer ", StringComparison.Ordinal));
        Assert.Equal([null], fake.StorageAuthorizations);
    }

    [Fact]
    public async Task GetManifest_BearerWrongPassword_UnauthorizedWithoutSecret()
    {
        using var fake = new FakeBearerRegistry(new RegistryCredentials(User, Password));
        var image = ImageReference.Parse($"docker://{fake.Host}/test/app:v1");
        var wrong = "Not-The-Password";
        using var client = new RegistryClient(RegistryClientPushTests.Insecure() with { Credentials = new RegistryCredentials(User, wrong) });

        var error = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken));
        Assert.Equal(RegistryErrorKind.Unauthorized, error.Kind);
        Assert.Contains($"authentication failed for {fake.Host}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetManifest_TokenExpired_FetchesANewOne()
    {
        using var fake = new FakeBearerRegistry();
        fake.Manifests["v1"] = (TestImage.Create(layers: 1).Manifest, MediaTypes.OciManifest);
        var image = ImageReference.Parse($"docker://{fake.Host}/test/app:v1");
        var clock = new ShiftedTimeProvider();
        using var client = new RegistryClient(RegistryClientPushTests.Insecure() with { TimeProvider = clock });

        await client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken);
        clock.Offset = TimeSpan.FromSeconds(100);
        await client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken);
        Assert.Single(fake.TokenRequests);

        // The fake grants 300 s; past that the cached token must not be sent.
        clock.Offset = TimeSpan.FromSeconds(301);
        await client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken);
        Assert.Equal(2, fake.TokenRequests.Count);
    }

    [Fact]
    public async Task GetManifest_BearerRealmOverHttpWithTlsVerify_RefusesToSendCredentials()
    {
        // With TLS verification on, the client talks https only; our fake is http, so use a
        // transport that rewrites https to http to reach it and see the realm check fire.
        using var fake = new FakeBearerRegistry(new RegistryCredentials(User, Password));
        var image = ImageReference.Parse($"docker://{fake.Host}/test/app:v1");
        using var client = new RegistryClient(
            new RegistryClientOptions { Credentials = new RegistryCredentials(User, Password), Environment = new Dictionary<string, string>() },
            new HttpsToHttpHandler());

        var error = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken));
        Assert.Equal(RegistryErrorKind.Protocol, error.Kind);
        Assert.Contains("refusing to send credentials", error.Message, StringComparison.Ordinal);
        Assert.Empty(fake.TokenRequests);
    }

    private sealed class ShiftedTimeProvider : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
    }

    private sealed class HttpsToHttpHandler : DelegatingHandler
    {
        public HttpsToHttpHandler()
            : base(new SocketsHttpHandler { AllowAutoRedirect = false })
        {
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.Scheme == "https")
            {
                request.RequestUri = new UriBuilder(request.RequestUri) { Scheme = "http", Port = request.RequestUri.Port }.Uri;
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
