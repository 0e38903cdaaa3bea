using System.Text;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;

namespace OstreeContainer.Oci.Tests.Layout;

public class ImageLayoutTests
{
    [Fact]
    public void Create_WritesLayoutMarkerAndEmptyIndex()
    {
        var dir = Fixtures.TempDirectory("layout-new");

        var layout = ImageLayout.Create(dir);

        Assert.Equal("{\"imageLayoutVersion\":\"1.0.0\"}", File.ReadAllText(Path.Combine(dir, "oci-layout")));
        Assert.Equal("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}", File.ReadAllText(Path.Combine(dir, "index.json")));
        Assert.True(Directory.Exists(Path.Combine(dir, "blobs", "sha256")));
        Assert.Empty(ImageLayout.Open(dir).ReadIndex().Manifests);
        Assert.Throws<IOException>(() => ImageLayout.Create(dir));
        Assert.Equal(layout.Directory, ImageLayout.OpenOrCreate(dir).Directory);
    }

    [Theory]
    [InlineData(null, "no index.json")]
    [InlineData("{\"manifests\":", "index.json is unreadable")]
    [InlineData("[]", "index.json is unreadable")]
    public void Open_MissingOrBadIndex_ThrowsInvalidData(string? index, string expected)
    {
        var dir = Fixtures.TempDirectory("layout-bad");
        ImageLayout.Create(dir);
        if (index is null)
        {
            File.Delete(Path.Combine(dir, "index.json"));
        }
        else
        {
            File.WriteAllText(Path.Combine(dir, "index.json"), index);
        }

        var e = Assert.Throws<InvalidDataException>(() => ImageLayout.Open(dir));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_NotALayout_ThrowsInvalidData()
    {
        var e = Assert.Throws<InvalidDataException>(() => ImageLayout.Open(Fixtures.TempDirectory("layout-none")));

        Assert.Contains("oci-layout", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteBlob_SameBytesTwice_KeepsOneBlobAndLeavesNoTempFiles()
    {
        var layout = ImageLayout.Create(Fixtures.TempDirectory("layout-blob"));

        var first = layout.WriteBlob("{}"u8, MediaTypes.OciConfig);
        var second = layout.WriteBlob("{}"u8, MediaTypes.OciConfig);

        Assert.Equal(first, second);
        Assert.Equal(Digest.Compute("{}"u8), first.Digest);
        Assert.Equal(2, first.Size);
        Assert.True(layout.HasBlob(first.Digest));
        Assert.Equal("{}", File.ReadAllText(layout.BlobPath(first.Digest)));
        Assert.Equal([layout.BlobPath(first.Digest)], Directory.GetFiles(Path.Combine(layout.Directory, "blobs"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void BeginBlob_DisposedWithoutCommit_LeavesNothing()
    {
        var layout = ImageLayout.Create(Fixtures.TempDirectory("layout-abandon"));

        using (var staged = layout.BeginBlob())
        {
            staged.Stream.Write("partial"u8);
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(layout.Directory, "blobs"), "*", SearchOption.AllDirectories));
        Assert.False(layout.HasBlob(Digest.Compute("partial"u8)));
    }

    [Fact]
    public void Commit_UnexpectedDigest_ThrowsAndKeepsNothing()
    {
        var layout = ImageLayout.Create(Fixtures.TempDirectory("layout-expect"));
        using var staged = layout.BeginBlob();
        staged.Stream.Write("actual"u8);

        var e = Assert.Throws<InvalidDataException>(() => staged.Commit(MediaTypes.OciLayerTar, Digest.Compute("expected"u8)));

        Assert.Contains(Digest.Compute("expected"u8).ToString(), e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(layout.Directory, "blobs"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void OpenBlob_TamperedOnDisk_ThrowsInvalidDataAtEnd()
    {
        var layout = ImageLayout.Create(Fixtures.TempDirectory("layout-tamper"));
        var descriptor = layout.WriteBlob("original content"u8, MediaTypes.OciConfig);
        File.WriteAllText(layout.BlobPath(descriptor.Digest), "tampered content");

        using var stream = layout.OpenBlob(descriptor);
        var e = Assert.Throws<InvalidDataException>(() => stream.CopyTo(Stream.Null));

        Assert.Contains(descriptor.Digest.ToString(), e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => layout.ReadBlob(descriptor, 1024));
    }

    [Fact]
    public void ReadBlob_OverCap_ThrowsInvalidData()
    {
        var layout = ImageLayout.Create(Fixtures.TempDirectory("layout-cap"));
        var descriptor = layout.WriteBlob(new byte[100], MediaTypes.OciConfig);

        Assert.Equal(new byte[100], layout.ReadBlob(descriptor, 100));
        var e = Assert.Throws<InvalidDataException>(() => layout.ReadBlob(descriptor, 99));
        Assert.Contains("99-byte limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SetManifest_SameTagTwice_ReplacesInPlaceAndKeepsOthers()
    {
        var layout = ImageLayout.Create(Fixtures.TempDirectory("layout-tags"));
        var a = WriteManifest(layout, "a");
        var b = WriteManifest(layout, "b");
        var c = WriteManifest(layout, "c");

        layout.SetManifest(a, "one");
        layout.SetManifest(b, "two");
        layout.SetManifest(c, "one");

        var manifests = layout.ReadIndex().Manifests;
        Assert.Equal([c.Digest, b.Digest], manifests.Select(m => m.Digest));
        Assert.Equal(["one", "two"], manifests.Select(m => m.Annotation(ImageLayout.RefNameAnnotation)));
        Assert.Equal(c.Digest, layout.ResolveManifest("one").Descriptor.Digest);
        Assert.Throws<KeyNotFoundException>(() => layout.ResolveManifest("three"));
        Assert.Throws<InvalidDataException>(() => layout.ResolveManifest(null));
        Assert.Empty(Directory.GetFiles(layout.Directory, ".tmp-*"));
    }

    [Fact]
    public void ResolveManifest_NestedIndex_PicksThePlatformAndReturnsRawBytes()
    {
        var layout = ImageLayout.Create(Fixtures.TempDirectory("layout-nested"));
        var amd64 = WriteManifest(layout, "amd64") with { Platform = new Platform { Os = "linux", Architecture = "amd64" } };
        var arm64 = WriteManifest(layout, "arm64") with { Platform = new Platform { Os = "linux", Architecture = "arm64", Variant = "v8" } };
        var index = layout.WriteBlob(OciJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = [amd64, arm64] }), MediaTypes.OciIndex);
        layout.SetManifest(index, null);

        var resolved = layout.ResolveManifest(null, Platform.Parse("linux/arm64"));

        Assert.Equal(arm64.Digest, resolved.Descriptor.Digest);
        Assert.Equal(File.ReadAllBytes(layout.BlobPath(arm64.Digest)), resolved.Bytes);
        Assert.Throws<KeyNotFoundException>(() => layout.ResolveManifest(null, Platform.Parse("linux/s390x")));
    }

    private static Descriptor WriteManifest(ImageLayout layout, string label)
    {
        var config = layout.WriteBlob(Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[]}},\"author\":\"{label}\"}}"), MediaTypes.OciConfig);
        var manifest = new ImageManifest { MediaType = MediaTypes.OciManifest, Config = config, Layers = [] };
        return layout.WriteBlob(OciJson.Serialize(manifest), MediaTypes.OciManifest);
    }
}
