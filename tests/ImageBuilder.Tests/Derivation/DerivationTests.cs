using Microsoft.Extensions.Logging;
using System.Text.Json;
using OstreeContainer.Errors;
using OstreeContainer.ImageBuilder.Derivation;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;

namespace OstreeContainer.ImageBuilder.Tests.Derivation;

/// <summary>
/// <c>build --from</c>: images derived from plain bases (buildah, hand-written layers with
/// whiteouts) and from ostree-container bases, unpacked with umoci and compared with
/// <c>ostree checkout</c>.
/// </summary>
public class DerivationTests
{
    // Contents of the fixture's files (make-fixture-repo.sh).
    private const long HiBytes = 18; // "#!/bin/sh\necho hi\n"
    private const long ReadmeBytes = 14; // "nested readme\n"

    private static async Task<(string Layout, ImageBuildResult Result, IReadOnlyList<string> Log)> Derive(
        string baseName, string rev, string? repo = null, int maxLayers = ImageBuildOptions.DefaultMaxLayers)
    {
        var logs = new TestLogs();
        var baseImage = await BaseImage.OpenAsync(ImageReference.Parse(baseName), null, Platform.Current, TestContext.Current.CancellationToken);
        var dir = Path.Combine(Fixtures.TempDirectory("derived"), "layout");
        var options = CommitImageBuilderTests.Options(repo ?? Fixtures.SmallRepo.ArchiveRepo, rev, maxLayers) with { Base = baseImage, LoggerFactory = logs };
        var result = await CommitImageBuilder.BuildToLayoutAsync(dir, "latest", options, TestContext.Current.CancellationToken);
        return (dir, result, logs.Messages(LogLevel.Information));
    }

    /// <summary>umoci's rootfs with /ostree (checked to be there) removed, for comparison with the expected tree.</summary>
    private static string UnpackWithoutOstree(string layout)
    {
        var rootfs = CommitImageBuilderTests.Unpack(layout);
        Assert.True(File.Exists(Path.Combine(rootfs, "ostree", "repo-webserver")), "no /ostree/repo-webserver");
        Directory.Delete(Path.Combine(rootfs, "ostree"), recursive: true);
        return rootfs;
    }

    private static List<string> TreeEntries(string layout, ImageBuildResult result)
    {
        var image = ImageLayout.Open(layout);
        var names = new List<string>();
        foreach (var layer in result.Layers.Where(l => l.Kind == LayerKind.Tree))
        {
            using var reader = Oci.Layers.LayerArchive.Open(image.OpenBlob(layer.Descriptor), layer.Descriptor.MediaType);
            while (reader.Next() is { } entry)
            {
                names.Add(entry.Path);
            }
        }

        return names;
    }

    [Fact]
    public async Task BuildToLayoutAsync_BuildahBaseOfTheFixtureTree_StoresOnlyTheChangedFile()
    {
        var small = Fixtures.SmallRepo;
        var baseLayout = BaseImages.Buildah(small.Tree("tree"), "v1", "oci");

        var (layout, result, log) = await Derive($"oci:{baseLayout}:v1", "fixture/main");

        // commit 2 changes etc/hello.txt only: the other four files are the base's.
        Assert.Equal(4, result.DeduplicatedFiles);
        Assert.Equal(HiBytes + ReadmeBytes, result.DeduplicatedBytes);
        Assert.Contains(log, l => l.Contains("de-duplicated against base", StringComparison.Ordinal) && l.Contains("4 files", StringComparison.Ordinal));
        var stored = TreeEntries(layout, result);
        Assert.Contains("etc/hello.txt", stored);
        Assert.DoesNotContain("usr/bin/hi", stored);
        Assert.DoesNotContain("usr/share/doc/fixture/README", stored);

        Peer.Run(Peer.Require("oci-image-tool"), ["validate", "--type", "image", "--ref", "name=latest", layout]).EnsureSuccess("oci-image-tool validate");
        Assert.Empty(TreeDiff.Compare(CommitImageBuilderTests.ExpectedTree(small.ArchiveRepo, small.Commit2), UnpackWithoutOstree(layout), ownership: true));
    }

    [Fact]
    public async Task BuildToLayoutAsync_DockerFormatBase_InheritsConfigAndKeepsBaseLayersFirst()
    {
        var small = Fixtures.SmallRepo;
        var baseLayout = BaseImages.Buildah(small.Tree("tree"), "v1", "docker", "FOO=from-base");
        var baseManifest = ImageLayout.Open(baseLayout).ResolveManifest("v1");

        var (layout, result, _) = await Derive($"oci:{baseLayout}:v1", "fixture/main");

        var inspect = Peer.Run(Peer.Require("skopeo"), ["inspect", "--config", $"oci:{layout}:latest"]).EnsureSuccess("skopeo inspect --config");
        using var config = JsonDocument.Parse(inspect.Stdout);
        var container = config.RootElement.GetProperty("config");
        Assert.Contains("FOO=from-base", container.GetProperty("Env").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("/var", container.GetProperty("WorkingDir").GetString());
        Assert.Equal("plain", container.GetProperty("Labels").GetProperty("org.example.base").GetString());
        Assert.Equal(small.Commit2, container.GetProperty("Labels").GetProperty("ostree.commit").GetString());
        Assert.Equal("/ostree/repo-webserver", container.GetProperty("Entrypoint")[0].GetString());

        var manifest = OciJson.ParseManifest(result.ManifestBytes);
        var baseLayers = OciJson.ParseManifest(baseManifest.Bytes).Layers;
        Assert.Equal(baseLayers.Select(l => l.Digest), manifest.Layers.Take(baseLayers.Count).Select(l => l.Digest));
        Assert.All(manifest.Layers, l => Assert.StartsWith("application/vnd.oci.image.layer", l.MediaType, StringComparison.Ordinal));
        var repoLayers = container.GetProperty("Labels").GetProperty(ImageLabelKeys.RepoLayers).GetString()!.Split(',').Select(int.Parse).ToList();
        Assert.All(repoLayers, i => Assert.NotEqual("tree", manifest.Layers[i].Annotation(ImageAnnotationKeys.LayerKind)));
        Assert.Equal(manifest.Layers.Count, config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").GetArrayLength());
    }

    [Fact]
    public async Task BuildToLayoutAsync_BaseWithWhiteoutsAndKindChanges_UnpacksToExactlyTheCommit()
    {
        var small = Fixtures.SmallRepo;
        var baseLayout = BaseImages.Write(
            "plain",
            w =>
            {
                w.AddDirectory("etc", BaseImages.Directory);
                w.AddText("etc/hello.txt", "hello world\n");

                // A directory where the commit has a file, and a file where it has a directory.
                w.AddDirectory("etc/empty", BaseImages.Directory);
                w.AddText("etc/empty/child", "child\n");
                w.AddText("var", "not a directory\n");
                w.AddDirectory("usr", BaseImages.Directory);
                w.AddDirectory("usr/bin", BaseImages.Directory);
                w.AddText("usr/bin/hi", "#!/bin/sh\necho hi\n", BaseImages.Executable);
                w.AddText("usr/bin/extra", "not in the commit\n", BaseImages.Executable);
                w.AddText("usr/bin/gone", "deleted by the next layer\n");
                w.AddSymlink("usr/bin/hello-link", "../../etc/hello.txt", BaseImages.Directory);
                w.AddDirectory("opt", BaseImages.Directory);
                w.AddDirectory("opt/vendor", BaseImages.Directory);
                w.AddText("opt/vendor/tool", "vendor tool\n");
                w.AddDirectory("srv", BaseImages.Directory);
                w.AddText("srv/old", "hidden by an opaque whiteout\n");
            },
            w =>
            {
                w.AddWhiteout("usr/bin/gone");
                w.AddOpaqueWhiteout("srv");
                w.AddText("srv/new", "above the opaque whiteout\n");

                // Same bytes, other owner: not the commit's file.
                w.AddDirectory("usr/share", BaseImages.Directory);
                w.AddDirectory("usr/share/doc", BaseImages.Directory);
                w.AddDirectory("usr/share/doc/fixture", BaseImages.Directory);
                w.AddText("usr/share/doc/fixture/README", "nested readme\n", BaseImages.File with { Uid = 1000 });
            });

        var (layout, result, _) = await Derive($"oci:{baseLayout}:plain", "fixture/main");

        Assert.Equal(2, result.DeduplicatedFiles); // usr/bin/hi and the symlink
        Assert.Equal(HiBytes, result.DeduplicatedBytes);
        var stored = TreeEntries(layout, result);
        Assert.Equal([".wh.opt", ".wh.srv", ".wh.var", "etc/.wh.empty", "usr/bin/.wh.extra"], stored.Where(p => p.Contains(".wh.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Contains("usr/share/doc/fixture/README", stored);

        Assert.Empty(TreeDiff.Compare(CommitImageBuilderTests.ExpectedTree(small.ArchiveRepo, small.Commit2), UnpackWithoutOstree(layout), ownership: true));
    }

    [Fact]
    public async Task BuildToLayoutAsync_OstreeContainerBase_ComparesThroughItsObjectMap()
    {
        var small = Fixtures.SmallRepo;
        var baseLayout = await CommitImageBuilderTests.BuildAsync(small.ArchiveRepo, "fixture/v1", tag: "v1");

        var (layout, result, log) = await Derive($"oci:{baseLayout}:v1", "fixture/main");

        Assert.Contains(log, l => l.Contains("object map of ostree commit " + small.Commit1, StringComparison.Ordinal));
        Assert.Equal(4, result.DeduplicatedFiles);
        Assert.Equal(HiBytes + ReadmeBytes, result.DeduplicatedBytes);

        // The base's /ostree is replaced whole: the derived image's repo is this commit's alone.
        Assert.Contains(".wh.ostree", TreeEntries(layout, result));
        var rootfs = CommitImageBuilderTests.Unpack(layout);
        var repo = Path.Combine(rootfs, "ostree", "repo");
        Peer.Ostree(repo, "fsck");
        Assert.Equal(small.Commit2, Peer.Ostree(repo, "rev-parse", "fixture/main").Trim());
        Assert.DoesNotContain("fixture/v1", Peer.Ostree(repo, "refs"), StringComparison.Ordinal);
        Directory.Delete(Path.Combine(rootfs, "ostree"), recursive: true);
        Assert.Empty(TreeDiff.Compare(CommitImageBuilderTests.ExpectedTree(small.ArchiveRepo, small.Commit2), rootfs, ownership: true));
    }

    [Fact]
    public async Task BuildToLayoutAsync_UnrelatedCommitOnOstreeBase_WhitesOutEveryBasePath()
    {
        var small = Fixtures.SmallRepo;
        var baseLayout = await CommitImageBuilderTests.BuildAsync(small.ArchiveRepo, "fixture/v1", tag: "v1");

        var (layout, result, _) = await Derive($"oci:{baseLayout}:v1", "fixture/wide");

        Assert.Equal(0, result.DeduplicatedFiles);
        Assert.Equal([".wh.etc", ".wh.ostree", ".wh.usr", "var/.wh.empty-dir"], TreeEntries(layout, result).Where(p => p.Contains(".wh.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Empty(TreeDiff.Compare(CommitImageBuilderTests.ExpectedTree(small.ArchiveRepo, small.CommitWide), UnpackWithoutOstree(layout), ownership: true));
    }

    [Fact]
    public async Task BuildToLayoutAsync_TamperedBaseBlob_FailsNamingTheDigestAndLeavesNoLayout()
    {
        var small = Fixtures.SmallRepo;
        var baseLayout = BaseImages.Buildah(small.Tree("tree"), "v1", "oci");
        var layer = OciJson.ParseManifest(ImageLayout.Open(baseLayout).ResolveManifest("v1").Bytes).Layers[0];
        var blob = ImageLayout.Open(baseLayout).BlobPath(layer.Digest);
        var bytes = File.ReadAllBytes(blob);
        bytes[bytes.Length / 2] ^= 0x55;
        File.WriteAllBytes(blob, bytes);
        var baseImage = await BaseImage.OpenAsync(ImageReference.Parse($"oci:{baseLayout}:v1"), null, Platform.Current, TestContext.Current.CancellationToken);
        var dir = Path.Combine(Fixtures.TempDirectory("derived"), "layout");

        var e = await Assert.ThrowsAnyAsync<InvalidDataException>(() => CommitImageBuilder.BuildToLayoutAsync(
            dir, "latest", CommitImageBuilderTests.Options(small.ArchiveRepo, "fixture/main") with { Base = baseImage }, TestContext.Current.CancellationToken));

        Assert.Contains(layer.Digest.ToString(), e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir), "a failed build left a layout behind");
    }

    [Fact]
    public async Task BuildToLayoutAsync_DeepBase_FewerChunksOrAClearError()
    {
        var small = Fixtures.SmallRepo;
        var deltas = Directory.Exists(Path.Combine(small.ArchiveRepo, "deltas")) ? 1 : 0;
        var fits = BaseImages.Write("deep", Enumerable.Range(0, 118).Select(i => (Action<Oci.Layers.LayerWriter>)(w => w.AddText($"layer{i}", $"{i}\n"))).ToArray());
        var tooDeep = BaseImages.Write("deep", Enumerable.Range(0, 125).Select(i => (Action<Oci.Layers.LayerWriter>)(w => w.AddText($"layer{i}", $"{i}\n"))).ToArray());

        var (_, result, _) = await Derive($"oci:{fits}:deep", "fixture/main");
        var e = await Assert.ThrowsAsync<UserInputException>(() => Derive($"oci:{tooDeep}:deep", "fixture/main"));

        Assert.True(118 + result.Layers.Count <= ImageBuildOptions.MaxImageLayers, $"{118 + result.Layers.Count} layers (deltas: {deltas})");
        Assert.Contains("125 layers", e.Message, StringComparison.Ordinal);
    }
}
