using System.Text.Json;
using OstreeContainer.Errors;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.ImageBuilder.Tests;

/// <summary>Builds images from the fixture repos and checks them with the real peers.</summary>
public class CommitImageBuilderTests
{
    internal static ImageBuildOptions Options(string repo, string rev, int maxLayers = ImageBuildOptions.DefaultMaxLayers) => new()
    {
        RepoPath = repo,
        Rev = rev,
        WebserverExecutable = NativeWebserver.Executable,
        MaxLayers = maxLayers,
    };

    internal static async Task<string> BuildAsync(string repo, string rev, string tag = "latest", int maxLayers = ImageBuildOptions.DefaultMaxLayers)
    {
        var dir = Path.Combine(Fixtures.TempDirectory("image"), "layout");
        await CommitImageBuilder.BuildToLayoutAsync(dir, tag, Options(repo, rev, maxLayers), TestContext.Current.CancellationToken);
        return dir;
    }

    /// <summary>The tree an image of <paramref name="commit"/> should unpack to: ostree's checkout with usr/etc moved to etc and var/tmp added.</summary>
    internal static string ExpectedTree(string repo, string commit)
    {
        var dir = Path.Combine(Fixtures.TempDirectory("expected"), "root");
        Peer.Ostree(repo, "checkout", commit, dir);
        if (Directory.Exists(Path.Combine(dir, "usr", "etc")) && !Directory.Exists(Path.Combine(dir, "etc")))
        {
            Directory.Move(Path.Combine(dir, "usr", "etc"), Path.Combine(dir, "etc"));
        }

        var varTmp = Path.Combine(dir, "var", "tmp");
        if (!Directory.Exists(varTmp))
        {
            Directory.CreateDirectory(Path.Combine(dir, "var"));
            Directory.CreateDirectory(varTmp);
            File.SetUnixFileMode(varTmp, (UnixFileMode)Convert.ToInt32("1777", 8));
        }

        return dir;
    }

    internal static string Unpack(string layout, string tag = "latest")
    {
        var bundle = Path.Combine(Fixtures.TempDirectory("umoci"), "bundle");
        Peer.Run(Peer.Require("umoci"), ["unpack", "--image", $"{layout}:{tag}", bundle]).EnsureSuccess("umoci unpack");
        return Path.Combine(bundle, "rootfs");
    }

    [Fact]
    public async Task Build_FixtureCommit_LayoutPassesOciImageToolAndSkopeo()
    {
        var small = Fixtures.SmallRepo;
        var layout = await BuildAsync(small.ArchiveRepo, "fixture/main");

        Peer.Run(Peer.Require("oci-image-tool"), ["validate", "--type", "image", "--ref", "name=latest", layout]).EnsureSuccess("oci-image-tool validate");
        var inspect = Peer.Run(Peer.Require("skopeo"), ["inspect", $"oci:{layout}:latest"]).EnsureSuccess("skopeo inspect");
        using var json = JsonDocument.Parse(inspect.Stdout);
        var labels = json.RootElement.GetProperty("Labels");
        Assert.Equal(small.Commit2, labels.GetProperty("ostree.commit").GetString());
        Assert.Equal("fixture/main", labels.GetProperty("ostree.ref").GetString());
        var manifest = ImageLayout.Open(layout).ResolveManifest("latest", null);
        Assert.Equal(manifest.Descriptor.Digest.ToString(), json.RootElement.GetProperty("Digest").GetString());
    }

    [Fact]
    public async Task Build_FixtureCommit_FinalDiffIdLabelNamesTheLastLayer()
    {
        var layout = await BuildAsync(Fixtures.SmallRepo.ArchiveRepo, "fixture/main");
        var image = ImageLayout.Open(layout);
        var manifest = OciJson.ParseManifest(image.ResolveManifest("latest", null).Bytes);
        var config = OciJson.ParseConfig(image.ReadBlob(manifest.Config, 1 << 20));

        // The meta layer is our last: a derived image's layers come after the one named here.
        Assert.Equal(config.RootFs.DiffIds[^1].ToString(), config.Config!.Labels![ImageLabelKeys.FinalDiffId]);
        Assert.Equal("meta", manifest.Layers[^1].Annotation(ImageAnnotationKeys.LayerKind));
        Assert.Null(manifest.Annotations!.GetValueOrDefault(ImageLabelKeys.FinalDiffId));
    }

    [Fact]
    public async Task Build_FixtureCommit_UmociUnpackEqualsOstreeCheckoutPlusOstreeDirectory()
    {
        var small = Fixtures.SmallRepo;
        var layout = await BuildAsync(small.ArchiveRepo, "fixture/main", maxLayers: 7);
        var rootfs = Unpack(layout);

        Assert.True(File.Exists(Path.Combine(rootfs, "ostree", "repo-webserver")), "no /ostree/repo-webserver");
        Assert.True(File.Exists(Path.Combine(rootfs, "ostree", "object-map")), "no /ostree/object-map");
        var image = Path.Combine(Fixtures.TempDirectory("tree-only"), "root");
        Peer.Run("cp", ["-a", rootfs, image]).EnsureSuccess("cp -a");
        Directory.Delete(Path.Combine(image, "ostree"), recursive: true);
        Assert.Empty(TreeDiff.Compare(ExpectedTree(small.ArchiveRepo, small.Commit2), image, ownership: true));
    }

    [Fact]
    public async Task Build_FixtureCommit_ImageRepoPassesFsckAndHoldsTheRef()
    {
        var small = Fixtures.SmallRepo;
        var rootfs = Unpack(await BuildAsync(small.BareUserRepo, "fixture/main"));
        var repo = Path.Combine(rootfs, "ostree", "repo");

        Peer.Ostree(repo, "fsck");
        Assert.Equal(small.Commit2, Peer.Ostree(repo, "rev-parse", "fixture/main").Trim());
        Assert.Contains("archive-z2", File.ReadAllText(Path.Combine(repo, "config")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_Twice_SameManifestDigest()
    {
        var small = Fixtures.SmallRepo;
        var first = ImageLayout.Open(await BuildAsync(small.ArchiveRepo, "fixture/main")).ResolveManifest("latest", null);
        var second = ImageLayout.Open(await BuildAsync(small.ArchiveRepo, "fixture/main")).ResolveManifest("latest", null);

        Assert.Equal(first.Descriptor.Digest, second.Descriptor.Digest);
    }

    [Fact]
    public async Task Build_MaxLayers_TheMinimumGivesOneChunkAndOneLessFailsNamingIt()
    {
        var small = Fixtures.SmallRepo;
        // Layers the commit needs at least: one tree, one repo, one per delta to it (as ostree lists them), the meta layer.
        var deltas = Peer.Ostree(small.ArchiveRepo, "static-delta", "list").Split('\n').Count(l => l.Trim().EndsWith(small.Commit2, StringComparison.Ordinal));
        var minimum = 3 + deltas;

        var result = await CommitImageBuilder.BuildToLayoutAsync(
            Path.Combine(Fixtures.TempDirectory("image"), "layout"), "latest", Options(small.ArchiveRepo, "fixture/main", minimum), TestContext.Current.CancellationToken);
        var e = await Assert.ThrowsAsync<UserInputException>(() => CommitImageBuilder.BuildToLayoutAsync(
            Path.Combine(Fixtures.TempDirectory("image"), "layout"), "latest", Options(small.ArchiveRepo, "fixture/main", minimum - 1), TestContext.Current.CancellationToken));

        Assert.Equal(minimum, result.Layers.Count);
        Assert.Equal([LayerKind.Tree, LayerKind.Repo, .. Enumerable.Repeat(LayerKind.Delta, deltas), LayerKind.Meta], result.Layers.Select(l => l.Kind));
        Assert.Contains($"--max-layers {minimum - 1} is too small: this commit needs at least {minimum}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_UnknownRef_FailsAndLeavesNoLayout()
    {
        var dir = Path.Combine(Fixtures.TempDirectory("image"), "layout");

        var e = await Assert.ThrowsAnyAsync<Exception>(() => CommitImageBuilder.BuildToLayoutAsync(dir, "latest", Options(Fixtures.SmallRepo.ArchiveRepo, "no/such/ref"), TestContext.Current.CancellationToken));

        Assert.Contains("no/such/ref", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir), "a failed build left a layout behind");
    }

    [Fact]
    public async Task Build_CorruptObject_FailsNamingItAndLeavesNoLayout()
    {
        var copy = Path.Combine(Fixtures.TempDirectory("corrupt"), "repo");
        Peer.Run("cp", ["-a", Fixtures.SmallRepo.ArchiveRepo, copy]).EnsureSuccess("cp -a");
        var repo = OstreeRepo.Open(copy);
        // One content object of fixture/main, its deflate stream cut short.
        var listing = Peer.Ostree(copy, "ls", "-R", "-C", "fixture/main");
        var victim = listing.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 6 && f[0].StartsWith('-') && long.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture) > 16)
            .Select(f => repo.ObjectPath(Ostree.Objects.Checksum.Parse(f[4]), Ostree.Objects.ObjectType.File))
            .First();
        File.WriteAllBytes(victim, File.ReadAllBytes(victim)[..^4]);
        var dir = Path.Combine(Fixtures.TempDirectory("image"), "layout");

        var e = await Assert.ThrowsAnyAsync<Exception>(() => CommitImageBuilder.BuildToLayoutAsync(dir, "latest", Options(copy, "fixture/main"), TestContext.Current.CancellationToken));

        Assert.IsAssignableFrom<InvalidDataException>(e);
        Assert.False(Directory.Exists(dir), "a failed build left a layout behind");
    }
}
