using OstreeContainer.ImageBuilder.Derivation;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;

namespace OstreeContainer.ImageBuilder.Tests.Derivation;

/// <summary>Derivation at OS scale: the OS fixture's C2 on an image of C1 (ostree-container, and plain from buildah).</summary>
public class OsDerivationTests
{
    private static async Task<ImageBuildResult> DeriveC2(string baseName, string layout)
    {
        var os = Fixtures.OsRepo;
        var baseImage = await BaseImage.OpenAsync(ImageReference.Parse(baseName), null, Platform.Current, TestContext.Current.CancellationToken);
        var options = CommitImageBuilderTests.Options(os.Repo, os.Commit2) with { Base = baseImage, LoggerFactory = new TestLogs(l => TestContext.Current.TestOutputHelper?.WriteLine(l)) };
        return await CommitImageBuilder.BuildToLayoutAsync(layout, "c2", options, TestContext.Current.CancellationToken);
    }

    private static void AssertUnpacksToC2(string layout)
    {
        var os = Fixtures.OsRepo;
        var rootfs = CommitImageBuilderTests.Unpack(layout, "c2");
        Directory.Delete(Path.Combine(rootfs, "ostree"), recursive: true);

        // The OS commit has /ostree -> sysroot/ostree; an image's /ostree is always its own repo.
        var expected = CommitImageBuilderTests.ExpectedTree(os.Repo, os.Commit2);
        File.Delete(Path.Combine(expected, "ostree"));
        Assert.Empty(TreeDiff.Compare(expected, rootfs, ownership: true));
    }

    [Fact]
    public async Task BuildToLayoutAsync_OsC2OnTheC1Image_StoresOnlyTheUpdate()
    {
        var os = Fixtures.OsRepo;
        var baseLayout = Path.Combine(Fixtures.TempDirectory("os-base"), "layout");
        await CommitImageBuilder.BuildToLayoutAsync(baseLayout, "c1", CommitImageBuilderTests.Options(os.Repo, os.Commit1), TestContext.Current.CancellationToken);
        var layout = Path.Combine(Fixtures.TempDirectory("os-derived"), "layout");

        var result = await DeriveC2($"oci:{baseLayout}:c1", layout);

        var tree = result.Layers.Where(l => l.Kind == LayerKind.Tree).ToList();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"C2 on C1 (object map): {result.DeduplicatedFiles} files / {result.DeduplicatedBytes} bytes de-duplicated, {result.Whiteouts} whiteouts, "
            + $"{tree.Count} tree layers, {tree.Sum(l => l.Descriptor.Size)} bytes, {tree.Sum(l => l.Entries)} entries");
        Assert.True(result.DeduplicatedFiles > 9000, $"{result.DeduplicatedFiles} files de-duplicated");
        Assert.True(tree.Sum(l => l.Entries) < 1000, $"{tree.Sum(l => l.Entries)} tree entries stored");
        AssertUnpacksToC2(layout);
    }

    [Fact]
    public async Task BuildToLayoutAsync_OsC2OnABuildahImageOfTree1_StoresOnlyWhatDiffers()
    {
        var os = Fixtures.OsRepo;
        var baseLayout = BaseImages.Buildah(os.Tree1, "tree1");
        var layout = Path.Combine(Fixtures.TempDirectory("os-derived"), "layout");

        var result = await DeriveC2($"oci:{baseLayout}:tree1", layout);

        var tree = result.Layers.Where(l => l.Kind == LayerKind.Tree).ToList();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"C2 on buildah tree1: {result.DeduplicatedFiles} files / {result.DeduplicatedBytes} bytes de-duplicated, {result.Whiteouts} whiteouts, "
            + $"{tree.Count} tree layers, {tree.Sum(l => l.Descriptor.Size)} bytes, {tree.Sum(l => l.Entries)} entries");
        Assert.True(result.DeduplicatedFiles > 5000, $"{result.DeduplicatedFiles} files de-duplicated");
        AssertUnpacksToC2(layout);
    }
}
