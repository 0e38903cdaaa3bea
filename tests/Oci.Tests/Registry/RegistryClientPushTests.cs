using System.Text.Json;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Oci.Tests.Registry;

/// <summary>Push, pull and mount against a real docker-registry, checked with skopeo.</summary>
public class RegistryClientPushTests
{
    internal static RegistryClientOptions Insecure(long chunkSize = 0) => new()
    {
        TlsVerify = false,
        ChunkSize = chunkSize,
        Environment = new Dictionary<string, string>(),
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
    };

    [Theory]
    [InlineData(0)]
    [InlineData(16 * 1024)]
    public async Task PushImage_AnonymousRegistry_SkopeoSeesOurDigestAndCopiesItBack(long chunkSize)
    {
        using var registry = LocalRegistry.Start();
        var image = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
        var testImage = TestImage.Create();
        var counter = new CountingHandler();
        using (var client = new RegistryClient(Insecure(chunkSize), counter))
        {
            await client.PingAsync(image, TestContext.Current.CancellationToken);
            await testImage.PushAsync(client, image, "v1");
        }

        Assert.Equal(3, counter.Count("POST", "/blobs/uploads/"));
        if (chunkSize > 0)
        {
            // Each 64 KiB layer is several chunks.
            Assert.True(counter.Count("PATCH", "/blobs/uploads/") >= 8, string.Join('\n', counter.Requests));
            Assert.True(registry.Requests("PATCH", "/blobs/uploads/").Count >= 8 || await LogCatchesUp(registry, "PATCH", 8));
        }
        else
        {
            Assert.Equal(0, counter.Count("PATCH", "/blobs/uploads/"));
        }

        var inspect = Peer.Run("skopeo", ["inspect", "--tls-verify=false", $"docker://{registry.Host}/test/app:v1"], timeout: TimeSpan.FromMinutes(1))
            .EnsureSuccess("skopeo inspect");
        using (var json = JsonDocument.Parse(inspect.Stdout))
        {
            Assert.Equal(testImage.ManifestDigest.ToString(), json.RootElement.GetProperty("Digest").GetString());
        }

        var layout = Directory.CreateTempSubdirectory("registry-copy-").FullName;
        try
        {
            Peer.Run(
                    "skopeo",
                    ["--insecure-policy", "copy", "--src-tls-verify=false", $"docker://{registry.Host}/test/app:v1", $"oci:{layout}:v1"],
                    timeout: TimeSpan.FromMinutes(1))
                .EnsureSuccess("skopeo copy");
            using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layout, "index.json")));
            Assert.Equal(testImage.ManifestDigest.ToString(), index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString());
        }
        finally
        {
            Directory.Delete(layout, recursive: true);
        }
    }

    [Fact]
    public async Task PushImage_Again_UploadsNoBlobs()
    {
        using var registry = LocalRegistry.Start();
        var image = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
        var testImage = TestImage.Create();
        using (var first = new RegistryClient(Insecure()))
        {
            await testImage.PushAsync(first, image, "v1");
        }

        var counter = new CountingHandler();
        using (var second = new RegistryClient(Insecure(), counter))
        {
            await testImage.PushAsync(second, image, "v1");
        }

        Assert.Equal(3, counter.Count("HEAD", "/blobs/"));
        Assert.Equal(0, counter.Count("POST", "/blobs/"));
        Assert.Equal(0, counter.Count("PATCH", "/blobs/"));
        Assert.Equal(0, counter.Count("PUT", "/blobs/"));
        Assert.Equal(1, counter.Count("PUT", "/manifests/v1"));

        // The registry's own access log agrees: three uploads in all, from the first push.
        Assert.True(await LogCatchesUp(registry, "PUT", 4));
        Assert.Equal(3, registry.Requests("PUT", "/blobs/uploads/").Count);
    }

    [Fact]
    public async Task GetManifestAndBlob_AfterPush_ReturnExactBytes()
    {
        using var registry = LocalRegistry.Start();
        var image = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
        var testImage = TestImage.Create();
        using var client = new RegistryClient(Insecure());
        await testImage.PushAsync(client, image, "v1");

        var byTag = await client.GetManifestAsync(image, "v1", TestContext.Current.CancellationToken);
        Assert.Equal(testImage.Manifest, byTag.Bytes);
        Assert.Equal(MediaTypes.OciManifest, byTag.MediaType);
        Assert.Equal(testImage.ManifestDigest, byTag.Digest);
        var byDigest = await client.GetManifestAsync(image, testImage.ManifestDigest.ToString(), TestContext.Current.CancellationToken);
        Assert.Equal(testImage.Manifest, byDigest.Bytes);

        var (layer, bytes) = testImage.Blobs[1];
        await using (var stream = await client.GetBlobUnverifiedAsync(image, layer.Digest, 0, TestContext.Current.CancellationToken))
        {
            Assert.Equal(bytes, await ReadAllAsync(stream));
        }

        await using (var tail = await client.GetBlobUnverifiedAsync(image, layer.Digest, 1000, TestContext.Current.CancellationToken))
        {
            Assert.Equal(bytes[1000..], await ReadAllAsync(tail));
        }

        var missing = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(image, "nope", TestContext.Current.CancellationToken));
        Assert.Equal(RegistryErrorKind.NotFound, missing.Kind);
        Assert.Equal("MANIFEST_UNKNOWN", missing.ErrorCode);
        Assert.Contains($"{registry.Host}/test/app", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TryMountBlob_FromAnotherRepository_BlobExistsInTarget()
    {
        using var registry = LocalRegistry.Start();
        var source = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
        var target = ImageReference.Parse($"docker://{registry.Host}/test/other:v1");
        var testImage = TestImage.Create(layers: 1);
        using var client = new RegistryClient(Insecure());
        await testImage.PushAsync(client, source, "v1");
        var layer = testImage.Blobs[1].Descriptor.Digest;

        Assert.False(await client.BlobExistsAsync(target, layer, TestContext.Current.CancellationToken));
        Assert.True(await client.TryMountBlobAsync(target, layer, "test/app", TestContext.Current.CancellationToken));
        Assert.True(await client.BlobExistsAsync(target, layer, TestContext.Current.CancellationToken));

        var absent = Digest.Compute("not pushed anywhere"u8);
        Assert.False(await client.TryMountBlobAsync(target, absent, "test/app", TestContext.Current.CancellationToken));
        Assert.False(await client.BlobExistsAsync(target, absent, TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16 * 1024)]
    public async Task PushBlob_StreamShorterThanDescriptor_ArgumentErrorWithoutRetries(long chunkSize)
    {
        using var registry = LocalRegistry.Start();
        var image = ImageReference.Parse($"docker://{registry.Host}/test/app:v1");
        var bytes = new byte[40 * 1024];
        Random.Shared.NextBytes(bytes);
        var descriptor = new Images.Descriptor { MediaType = MediaTypes.OciLayerGzip, Digest = Digest.Compute(bytes), Size = bytes.Length + 1 };
        var opens = 0;
        using var client = new RegistryClient(Insecure(chunkSize));

        await Assert.ThrowsAsync<ArgumentException>(() => client.PushBlobAsync(image, descriptor, () =>
        {
            opens++;
            return new MemoryStream(bytes);
        }, TestContext.Current.CancellationToken));

        Assert.Equal(1, opens);
    }

    internal static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, TestContext.Current.CancellationToken);
        return copy.ToArray();
    }

    // The access log line is written after the response; give it a moment.
    internal static async Task<bool> LogCatchesUp(LocalRegistry registry, string method, int atLeast)
    {
        for (var i = 0; i < 40 && registry.Requests(method).Count < atLeast; i++)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        return registry.Requests(method).Count >= atLeast;
    }
}
