using System.Text.Json;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layers;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Oci.Tests.Layers;

namespace OstreeContainer.Oci.Tests.Layout;

/// <summary>A two-layer image written with ImageLayout + LayerWriter, checked by oci-image-tool, skopeo and umoci.</summary>
public class ImageLayoutPeerTests
{
    private const string Tag = "v1";

    [Fact]
    public void TwoLayerImage_OciImageTool_ValidatesTheLayout()
    {
        var image = BuildImage();

        // oci-image-tool 1.0.0-rc1 validates a layout through "--type image" (its "imageLayout"
        // type is unimplemented): index.json, the tagged manifest, config and every blob's size and digest.
        var result = Peer.Run("oci-image-tool", ["validate", "--type", "image", "--ref", $"name={Tag}", image.Directory]);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Contains("Validation succeeded", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoLayerImage_WithATamperedLayer_FailsOciImageTool()
    {
        // The control for the test above: the validator does check blob content.
        var image = BuildImage();
        File.AppendAllText(Path.Combine(image.Directory, "blobs", "sha256", image.Layers[1].Digest.Hex), "x");

        var result = Peer.Run("oci-image-tool", ["validate", "--type", "image", "--ref", $"name={Tag}", image.Directory]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("mismatch", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoLayerImage_SkopeoInspect_ReportsOurManifestDigestAndLayers()
    {
        var image = BuildImage();

        var json = Peer.Check("skopeo", "inspect", $"oci:{image.Directory}:{Tag}");

        using var document = JsonDocument.Parse(json);
        Assert.Equal(image.Manifest.Digest.ToString(), document.RootElement.GetProperty("Digest").GetString());
        Assert.Equal(
            image.Layers.Select(l => l.Digest.ToString()),
            document.RootElement.GetProperty("Layers").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("amd64", document.RootElement.GetProperty("Architecture").GetString());
    }

    [Fact]
    public void TwoLayerImage_UmociUnpack_GivesTheExpectedRootfs()
    {
        var image = BuildImage();
        var bundle = Path.Combine(Fixtures.TempDirectory("umoci"), "bundle");

        Peer.Check("umoci", "unpack", "--image", $"{image.Directory}:{Tag}", bundle);

        var rootfs = Path.Combine(bundle, "rootfs");
        Assert.Equal("layer two\n", File.ReadAllText(Path.Combine(rootfs, "etc/motd")));
        Assert.False(File.Exists(Path.Combine(rootfs, "etc/gone")), "whiteout etc/.wh.gone was not applied");
        Assert.Equal(["c"], Directory.GetFileSystemEntries(Path.Combine(rootfs, "var/cache")).Select(Path.GetFileName));
        Assert.Equal("600 1000:1001", Stat(rootfs, "etc/secret"));
        Assert.Equal("4755 0:0", Stat(rootfs, "usr/bin/tool"));
        Assert.Equal("1777 0:0", Stat(rootfs, "tmp"));
        Assert.Equal("tool", new FileInfo(Path.Combine(rootfs, "usr/bin/alias")).LinkTarget);
        Assert.Equal(Inode(rootfs, "usr/bin/tool"), Inode(rootfs, "usr/bin/tool2"));
        var xattrs = Peer.Check("getfattr", "-d", "-m", "user.", "-e", "hex", Path.Combine(rootfs, "usr/bin/tool"));
        Assert.Contains("user.origin=0x" + Convert.ToHexStringLower(SampleLayer.BinaryXattr), xattrs, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoLayerImage_BuiltTwice_HasTheSameManifestDigest()
    {
        Assert.Equal(BuildImage().Manifest.Digest, BuildImage().Manifest.Digest);
    }

    private sealed record Image(string Directory, Descriptor Manifest, IReadOnlyList<Descriptor> Layers);

    private static Image BuildImage()
    {
        var layout = ImageLayout.Create(Fixtures.TempDirectory("image"));
        var dir = new TarEntryMetadata(0x1ED, 0, 0);
        var file = new TarEntryMetadata(0x1A4, 0, 0);

        var (one, diffOne) = WriteLayer(layout, LayerCompression.Gzip, w =>
        {
            w.AddDirectory("etc", dir);
            w.AddFile("etc/motd", file, "layer one\n"u8);
            w.AddFile("etc/gone", file, "deleted by layer two\n"u8);
            w.AddFile("etc/secret", new TarEntryMetadata(0x180, 1000, 1001), "s3cret\n"u8);
            w.AddDirectory("tmp", new TarEntryMetadata(0x3FF, 0, 0));
            w.AddDirectory("usr", dir);
            w.AddDirectory("usr/bin", dir);
            w.AddFile("usr/bin/tool", new TarEntryMetadata(0x9ED, 0, 0, [new("user.origin", SampleLayer.BinaryXattr)]), SampleLayer.Data);
            w.AddHardlink("usr/bin/tool2", "usr/bin/tool", new TarEntryMetadata(0x9ED, 0, 0));
            w.AddSymlink("usr/bin/alias", "tool", new TarEntryMetadata(0x1FF, 0, 0));
            w.AddDirectory("var", dir);
            w.AddDirectory("var/cache", dir);
            w.AddFile("var/cache/a", file, "a"u8);
            w.AddFile("var/cache/b", file, "b"u8);
        });
        var (two, diffTwo) = WriteLayer(layout, LayerCompression.None, w =>
        {
            w.AddDirectory("etc", dir);
            w.AddWhiteout("etc/gone");
            w.AddFile("etc/motd", file, "layer two\n"u8);
            w.AddDirectory("var/cache", dir);
            w.AddOpaqueWhiteout("var/cache");
            w.AddFile("var/cache/c", file, "c"u8);
        });

        var config = new ImageConfig
        {
            Created = "2024-05-06T07:08:09Z",
            Architecture = "amd64",
            Os = "linux",
            Config = new ContainerConfig { Entrypoint = ["/usr/bin/tool"] },
            RootFs = new RootFs { DiffIds = [diffOne, diffTwo] },
            History = [new HistoryEntry { Created = "2024-05-06T07:08:09Z", CreatedBy = "test one" }, new HistoryEntry { Created = "2024-05-06T07:08:09Z", CreatedBy = "test two" }],
        };
        var configDescriptor = layout.WriteBlob(OciJson.Serialize(config), MediaTypes.OciConfig);
        var manifest = new ImageManifest { MediaType = MediaTypes.OciManifest, Config = configDescriptor, Layers = [one, two] };
        var manifestDescriptor = layout.WriteBlob(OciJson.Serialize(manifest), MediaTypes.OciManifest);
        layout.SetManifest(manifestDescriptor, Tag);
        return new Image(layout.Directory, manifestDescriptor, [one, two]);
    }

    private static (Descriptor Layer, Digest DiffId) WriteLayer(ImageLayout layout, LayerCompression compression, Action<LayerWriter> write)
    {
        using var staged = layout.BeginBlob();
        LayerResult result;
        using (var writer = new LayerWriter(staged.Stream, compression, new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero)))
        {
            write(writer);
            result = writer.Complete();
        }

        var descriptor = staged.Commit(result.MediaType, result.Digest);
        Assert.Equal(result.Size, descriptor.Size);
        return (descriptor, result.DiffId);
    }

    private static string Stat(string root, string path) =>
        Peer.Check("stat", "-c", "%a %u:%g", Path.Combine(root, path)).Trim();

    private static string Inode(string root, string path) =>
        Peer.Check("stat", "-c", "%i", Path.Combine(root, path)).Trim();
}
