using System.Formats.Tar;
using System.IO.Compression;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Oci.Tests.Registry;

/// <summary>A small OCI image in memory: a config and gzip tar layers of random bytes.</summary>
internal sealed class TestImage
{
    private TestImage(IReadOnlyList<(Descriptor Descriptor, byte[] Bytes)> blobs, byte[] manifest)
    {
        Blobs = blobs;
        Manifest = manifest;
        ManifestDigest = Digest.Compute(manifest);
    }

    /// <summary>Config first, then the layers.</summary>
    public IReadOnlyList<(Descriptor Descriptor, byte[] Bytes)> Blobs { get; }

    public byte[] Manifest { get; }

    public Digest ManifestDigest { get; }

    public static TestImage Create(int layers = 2, int layerBytes = 64 * 1024)
    {
        var layerBlobs = new List<(Descriptor, byte[])>();
        var diffIds = new List<Digest>();
        for (var i = 0; i < layers; i++)
        {
            var (tar, gz) = RandomLayer($"file{i}.bin", layerBytes);
            diffIds.Add(Digest.Compute(tar));
            layerBlobs.Add((new Descriptor { MediaType = MediaTypes.OciLayerGzip, Digest = Digest.Compute(gz), Size = gz.Length }, gz));
        }

        var config = OciJson.Serialize(new ImageConfig
        {
            Architecture = "amd64",
            Os = "linux",
            RootFs = new RootFs { DiffIds = diffIds },
        });
        var configDescriptor = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = Digest.Compute(config), Size = config.Length };
        var manifest = OciJson.Serialize(new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = configDescriptor,
            Layers = layerBlobs.Select(b => b.Item1).ToList(),
        });
        return new TestImage([(configDescriptor, config), .. layerBlobs], manifest);
    }

    public async Task PushAsync(RegistryClient client, ImageReference image, string tag)
    {
        foreach (var (descriptor, bytes) in Blobs)
        {
            await client.PushBlobAsync(image, descriptor, () => new MemoryStream(bytes, writable: false), TestContext.Current.CancellationToken);
        }

        var digest = await client.PushManifestAsync(image, tag, Manifest, MediaTypes.OciManifest, TestContext.Current.CancellationToken);
        Assert.Equal(ManifestDigest, digest);
    }

    private static (byte[] Tar, byte[] Gzip) RandomLayer(string name, int size)
    {
        var content = new byte[size];
        Random.Shared.NextBytes(content);
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
            {
                DataStream = new MemoryStream(content),
                ModificationTime = DateTimeOffset.UnixEpoch,
            });
        }

        using var gz = new MemoryStream();
        using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(tar.GetBuffer(), 0, (int)tar.Length);
        }

        return (tar.ToArray(), gz.ToArray());
    }
}

/// <summary>Records every request that reaches the transport, below the auth handler.</summary>
internal sealed class CountingHandler : DelegatingHandler
{
    private readonly List<(string Method, string PathAndQuery, bool HadAuthorization)> _requests = [];

    public CountingHandler()
        : base(new SocketsHttpHandler { AllowAutoRedirect = false })
    {
    }

    public IReadOnlyList<(string Method, string PathAndQuery, bool HadAuthorization)> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public int Count(string method, string pathContains) =>
        Requests.Count(r => r.Method == method && r.PathAndQuery.Contains(pathContains, StringComparison.Ordinal));

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        lock (_requests)
        {
            _requests.Add((request.Method.Method, request.RequestUri!.PathAndQuery, request.Headers.Authorization is not null));
        }

        return base.SendAsync(request, cancellationToken);
    }
}
