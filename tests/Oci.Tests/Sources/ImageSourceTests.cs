using System.Formats.Tar;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Oci.Registry;
using OstreeContainer.Oci.Sources;
using OstreeContainer.Oci.Tests.Registry;

namespace OstreeContainer.Oci.Tests.Sources;

/// <summary>The one image reader: every transport resolves and checks the same way.</summary>
public class ImageSourceTests
{
    private static readonly Platform Amd64 = new() { Os = "linux", Architecture = "amd64" };

    /// <summary>A layout holding <paramref name="image"/>'s blobs and <paramref name="manifest"/> (default: its own), tagged "t".</summary>
    private static (string Directory, ImageLayout Layout, Descriptor Manifest) Layout(TestImage image, ImageManifest? manifest = null)
    {
        var directory = Path.Combine(Fixtures.TempDirectory("sources"), "layout");
        var layout = ImageLayout.Create(directory);
        foreach (var (descriptor, bytes) in image.Blobs)
        {
            layout.WriteBlob(bytes, descriptor.MediaType);
        }

        var bytesOut = manifest is null ? image.Manifest : OciJson.Serialize(manifest);
        var written = layout.WriteBlob(bytesOut, MediaTypes.OciManifest);
        layout.SetManifest(written, "t");
        return (directory, layout, written);
    }

    private static ImageSource Open(string directory) =>
        ImageSource.Open(ImageReference.Parse($"oci:{directory}:t"), null, Fixtures.TempDirectory("scratch"));

    [Fact]
    public async Task Layout_NestedIndex_ResolvesThePlatformKeepingRawBytes_AndReadsTheConfig()
    {
        var image = TestImage.Create(layers: 1, layerBytes: 16);
        var (directory, layout, manifest) = Layout(image);
        var inner = layout.WriteBlob(OciJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = [manifest with { Platform = Amd64 }] }), MediaTypes.OciIndex);
        var outer = layout.WriteBlob(OciJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = [inner with { Platform = Amd64 }] }), MediaTypes.OciIndex);
        layout.SetManifest(outer, "t");
        using var source = Open(directory);

        var resolved = await source.ResolveManifestAsync(Amd64, TestContext.Current.CancellationToken);
        var config = await source.ReadConfigAsync(resolved, TestContext.Current.CancellationToken);

        Assert.True(source.IsLocal);
        Assert.Equal(image.ManifestDigest, resolved.Digest);
        Assert.Equal(image.Manifest, resolved.Bytes);
        Assert.Single(config.RootFs.DiffIds);
    }

    [Fact]
    public async Task Layout_IndexesNestedTooDeep_Refused()
    {
        var image = TestImage.Create(layers: 1, layerBytes: 16);
        var (directory, layout, manifest) = Layout(image);
        var entry = manifest with { Platform = Amd64 };
        for (var i = 0; i <= ImageChecks.MaxIndexDepth; i++)
        {
            entry = layout.WriteBlob(OciJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = [entry] }), MediaTypes.OciIndex) with { Platform = Amd64 };
        }

        layout.SetManifest(entry with { Platform = null }, "t");
        using var source = Open(directory);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => source.ResolveManifestAsync(Amd64, TestContext.Current.CancellationToken));

        Assert.Contains($"indexes nested deeper than {ImageChecks.MaxIndexDepth}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Layout_NoManifestForThePlatform_SaysWhatTheIndexLists()
    {
        var image = TestImage.Create(layers: 1, layerBytes: 16);
        var (directory, layout, manifest) = Layout(image);
        var index = layout.WriteBlob(OciJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = [manifest with { Platform = Amd64 }] }), MediaTypes.OciIndex);
        layout.SetManifest(index, "t");
        using var source = Open(directory);

        var e = await Assert.ThrowsAsync<KeyNotFoundException>(() => source.ResolveManifestAsync(Platform.Parse("linux/s390x"), TestContext.Current.CancellationToken));

        Assert.Contains("linux/s390x", e.Message, StringComparison.Ordinal);
        Assert.Contains("it lists linux/amd64", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("urls")]
    [InlineData(MediaTypes.DockerForeignLayerGzip)]
    [InlineData("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip")]
    public async Task Layout_ForeignLayer_Refused(string how)
    {
        var image = TestImage.Create(layers: 2, layerBytes: 16);
        var manifest = OciJson.ParseManifest(image.Manifest);
        var foreign = how == "urls"
            ? manifest.Layers[1] with { Urls = ["https://example.com/layer"] }
            : manifest.Layers[1] with { MediaType = how };
        var (directory, _, _) = Layout(image, manifest with { Layers = [manifest.Layers[0], foreign] });
        using var source = Open(directory);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => source.ResolveManifestAsync(Amd64, TestContext.Current.CancellationToken));

        Assert.Contains($"layer {foreign.Digest} is a foreign layer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Layout_UnknownLayerMediaType_Refused()
    {
        var image = TestImage.Create(layers: 1, layerBytes: 16);
        var manifest = OciJson.ParseManifest(image.Manifest);
        var (directory, _, _) = Layout(image, manifest with { Layers = [manifest.Layers[0] with { MediaType = "application/x-squashfs" }] });
        using var source = Open(directory);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => source.ResolveManifestAsync(Amd64, TestContext.Current.CancellationToken));

        Assert.Contains("'application/x-squashfs', which is not a tar, tar+gzip or tar+zstd layer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadConfig_DiffIdsDoNotMatchTheLayers_Refused()
    {
        var image = TestImage.Create(layers: 2, layerBytes: 16);
        var manifest = OciJson.ParseManifest(image.Manifest);
        var (directory, _, written) = Layout(image, manifest with { Layers = [manifest.Layers[0]] });
        using var source = Open(directory);
        var resolved = await source.ResolveManifestAsync(Amd64, TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => source.ReadConfigAsync(resolved, TestContext.Current.CancellationToken));

        Assert.Contains($"config {manifest.Config.Digest} lists 2 diff IDs for the 1 layers of manifest {written.Digest}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadBlob_OverTheCap_RefusedBeforeReading()
    {
        var image = TestImage.Create(layers: 1, layerBytes: 16);
        var (directory, _, _) = Layout(image);
        using var source = Open(directory);
        var layer = image.Blobs[1].Descriptor;

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => source.ReadBlobAsync(layer, (int)layer.Size - 1, TestContext.Current.CancellationToken));

        Assert.Contains("over the", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenBlob_ContentDiffers_ThrowsAtTheEnd()
    {
        var image = TestImage.Create(layers: 1, layerBytes: 16);
        var (directory, layout, _) = Layout(image);
        var layer = image.Blobs[1].Descriptor;
        var path = layout.BlobPath(layer.Digest);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 1;
        File.WriteAllBytes(path, bytes);
        using var source = Open(directory);

        var stream = await source.OpenBlobAsync(layer, TestContext.Current.CancellationToken);
        await using (stream)
        {
            var e = await Assert.ThrowsAsync<InvalidDataException>(() => stream.CopyToAsync(Stream.Null, TestContext.Current.CancellationToken));
            Assert.Contains("content has digest", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Archive_IsExtractedToScratch_AndRemovedOnDispose()
    {
        var image = TestImage.Create(layers: 1, layerBytes: 16);
        var (directory, _, _) = Layout(image);
        var archive = Path.Combine(Fixtures.TempDirectory("archive"), "image.tar");
        await TarFile.CreateFromDirectoryAsync(directory, archive, includeBaseDirectory: false, TestContext.Current.CancellationToken);
        var scratch = Fixtures.TempDirectory("scratch");

        using (var source = ImageSource.Open(ImageReference.Parse($"oci-archive:{archive}:t"), null, scratch))
        {
            var resolved = await source.ResolveManifestAsync(Amd64, TestContext.Current.CancellationToken);
            Assert.Equal(image.ManifestDigest, resolved.Digest);
            Assert.NotEmpty(Directory.GetDirectories(scratch));
        }

        Assert.Empty(Directory.GetDirectories(scratch));
    }

    [Fact]
    public async Task Registry_IndexEntryOfTheWrongSize_Refused()
    {
        using var registry = LocalRegistry.Start();
        using var client = new RegistryClient(new RegistryClientOptions { TlsVerify = false });
        var reference = ImageReference.Parse($"{registry.Host}/sources/image:1");
        var image = TestImage.Create(layers: 1, layerBytes: 16);
        await image.PushAsync(client, reference, "1");
        var entry = new Descriptor { MediaType = MediaTypes.OciManifest, Digest = image.ManifestDigest, Size = image.Manifest.Length + 1, Platform = Amd64 };
        await client.PushManifestAsync(reference, "index", OciJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = [entry] }), MediaTypes.OciIndex, TestContext.Current.CancellationToken);
        using var source = ImageSource.Open(ImageReference.Parse($"{registry.Host}/sources/image:index"), client, Fixtures.TempDirectory("scratch"));

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => source.ResolveManifestAsync(Amd64, TestContext.Current.CancellationToken));

        Assert.False(source.IsLocal);
        Assert.Contains($"manifest {image.ManifestDigest} is {image.Manifest.Length} bytes, the index says {image.Manifest.Length + 1}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registry_Index_ResolvesThePlatform()
    {
        using var registry = LocalRegistry.Start();
        using var client = new RegistryClient(new RegistryClientOptions { TlsVerify = false });
        var reference = ImageReference.Parse($"{registry.Host}/sources/image:1");
        var image = TestImage.Create(layers: 1, layerBytes: 16);
        await image.PushAsync(client, reference, "1");
        var entry = new Descriptor { MediaType = MediaTypes.OciManifest, Digest = image.ManifestDigest, Size = image.Manifest.Length, Platform = Amd64 };
        await client.PushManifestAsync(reference, "index", OciJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = [entry] }), MediaTypes.OciIndex, TestContext.Current.CancellationToken);
        using var source = ImageSource.Open(ImageReference.Parse($"{registry.Host}/sources/image:index"), client, Fixtures.TempDirectory("scratch"));

        var resolved = await source.ResolveManifestAsync(Amd64, TestContext.Current.CancellationToken);
        var config = await source.ReadConfigAsync(resolved, TestContext.Current.CancellationToken);

        Assert.Equal(image.ManifestDigest, resolved.Digest);
        Assert.Single(config.RootFs.DiffIds);
    }
}
