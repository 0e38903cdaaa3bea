using OstreeContainer.ImageBuilder.Derivation;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.ImageBuilder.Tests.Derivation;

/// <summary>Resolving a base image: indexes by platform, pinned digests, platform mismatches, through a real docker-registry.</summary>
public class BaseImageTests
{
    /// <summary>A layout tagged <paramref name="tag"/> whose index lists one image per platform; returns (dir, manifest digest per arch).</summary>
    private static (string Directory, Dictionary<string, Digest> Manifests) MultiPlatform(string tag)
    {
        var manifests = new Dictionary<string, Digest>(StringComparer.Ordinal);
        var entries = new List<Descriptor>();
        string? directory = null;
        foreach (var arch in new[] { "amd64", "arm64" })
        {
            var single = BaseImages.Write("one", w => w.AddText("arch", arch + "\n"));
            var source = ImageLayout.Open(single);
            var resolved = source.ResolveManifest("one");
            directory ??= Path.Combine(Fixtures.TempDirectory("multi"), "layout");
            var target = ImageLayout.OpenOrCreate(directory);
            var manifest = OciJson.ParseManifest(resolved.Bytes);
            foreach (var blob in manifest.Layers.Append(manifest.Config))
            {
                using var stream = source.OpenBlob(blob);
                using var staged = target.BeginBlob();
                stream.CopyTo(staged.Stream);
                staged.Commit(blob.MediaType, blob.Digest);
            }

            // The config says the architecture too; rewrite it for arm64.
            var config = OciJson.ParseConfig(source.ReadBlob(manifest.Config, OciJson.MaxDocumentBytes)) with { Architecture = arch };
            var configDescriptor = target.WriteBlob(OciJson.Serialize(config), MediaTypes.OciConfig);
            var bytes = OciJson.Serialize(manifest with { Config = configDescriptor });
            var descriptor = target.WriteBlob(bytes, MediaTypes.OciManifest) with { Platform = new Platform { Os = "linux", Architecture = arch } };
            entries.Add(descriptor);
            manifests[arch] = descriptor.Digest;
        }

        var layout = ImageLayout.Open(directory!);
        var index = layout.WriteBlob(OciJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = entries }), MediaTypes.OciIndex);
        layout.SetManifest(index, tag);
        return (directory!, manifests);
    }

    [Fact]
    public async Task OpenAsync_RegistryIndex_ChoosesThePlatformAndHonoursAPinnedDigest()
    {
        var (layout, manifests) = MultiPlatform("multi");
        using var registry = LocalRegistry.Start();
        var image = $"{registry.Host}/multi/base:1";
        Peer.Run(Peer.Require("skopeo"), ["copy", "--all", "--dest-tls-verify=false", $"oci:{layout}:multi", $"docker://{image}"]).EnsureSuccess("skopeo copy --all");
        using var client = new RegistryClient(new RegistryClientOptions { TlsVerify = false });
        var arm = new Platform { Os = "linux", Architecture = "arm64" };
        var amd = new Platform { Os = "linux", Architecture = "amd64" };

        var chosen = await BaseImage.OpenAsync(ImageReference.Parse(image), client, arm, TestContext.Current.CancellationToken);
        var pinned = await BaseImage.OpenAsync(ImageReference.Parse($"{registry.Host}/multi/base@{manifests["amd64"]}"), client, amd, TestContext.Current.CancellationToken);
        var fs = await chosen.ReadFilesystemAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(manifests["arm64"], chosen.ManifestDigest);
        Assert.Equal(manifests["amd64"], pinned.ManifestDigest);
        Assert.True(fs.TryGetEntry("arch", out var entry) && entry.Kind == BaseEntryKind.File);
        Assert.Null(chosen.OstreeCommit);
    }

    [Fact]
    public async Task OpenAsync_NoManifestForThePlatform_FailsNamingIt()
    {
        var (layout, _) = MultiPlatform("multi");

        var e = await Assert.ThrowsAsync<KeyNotFoundException>(() =>
            BaseImage.OpenAsync(ImageReference.Parse($"oci:{layout}:multi"), null, new Platform { Os = "linux", Architecture = "s390x" }, TestContext.Current.CancellationToken));

        Assert.Contains("linux/s390x", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_PinnedDigestOfOtherBytes_FailsBeforeAnyLayerIsRead()
    {
        var (layout, manifests) = MultiPlatform("multi");
        using var registry = LocalRegistry.Start();
        Peer.Run(Peer.Require("skopeo"), ["copy", "--all", "--dest-tls-verify=false", $"oci:{layout}:multi", $"docker://{registry.Host}/multi/base:1"]).EnsureSuccess("skopeo copy --all");
        using var client = new RegistryClient(new RegistryClientOptions { TlsVerify = false });
        var manifest = manifests["amd64"];
        var path = Path.Combine(registry.StorageDirectory, "docker", "registry", "v2", "blobs", "sha256", manifest.Hex[..2], manifest.Hex, "data");
        var bytes = File.ReadAllBytes(path);
        bytes[^2] = (byte)' ';
        File.WriteAllBytes(path, bytes);

        var e = await Assert.ThrowsAnyAsync<Exception>(() =>
            BaseImage.OpenAsync(ImageReference.Parse($"{registry.Host}/multi/base@{manifest}"), client, new Platform { Os = "linux", Architecture = "amd64" }, TestContext.Current.CancellationToken));

        Assert.True(e is RegistryException or InvalidDataException, e.ToString());
        Assert.Contains(manifest.ToString(), e.Message, StringComparison.Ordinal);
        Assert.Empty(registry.Requests("GET", "/blobs/"));
    }
}
