using OstreeContainer.ImageBuilder;
using OstreeContainer.ImageFormat;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>The OS-sized fixture: C1 then C2 through a real docker-registry; the update fetches the config and the C1 -> C2 delta layer alone.</summary>
public class OsUpdateTests
{
    [Theory]
    [InlineData("archive")]
    [InlineData("bare-user")]
    [InlineData("bare")]
    public async Task Pull_OsC1ThenC2_MatchesSourceAndUpdatesByTheDeltaLayerAlone(string mode)
    {
        var os = Fixtures.OsRepo;
        var (layout, c1, c2) = Images.Value;
        using var registry = LocalRegistry.Start();
        var image1 = PullTestImages.Push(registry, layout, c1, "os/example", "c1");
        var image2 = PullTestImages.Push(registry, layout, c2, "os/example", "c2");
        var repo = PullTestImages.NewRepo(mode);
        using var client = PullTestImages.Client();
        var ct = TestContext.Current.CancellationToken;

        var first = await ImageImporter.PullAsync(ImageImporterTests.Options(repo, image1, client: client) with { Ref = os.Branch }, ct);
        Assert.Equal(os.Commit1, first.Commit);
        Peer.Ostree(repo, "fsck");
        Assert.Empty(TreeDiff.Compare(PullTestImages.Checkout(os.Repo, os.Commit1, mode), PullTestImages.Checkout(repo, os.Branch, mode), ownership: mode == "bare"));

        var before = registry.Requests("GET", "/blobs/").Count;
        var second = await ImageImporter.PullAsync(ImageImporterTests.Options(repo, image2, client: client), ct);
        Assert.Equal(os.Commit2, second.Commit);
        Peer.Ostree(repo, "fsck");
        Assert.Equal(os.Commit2, Peer.Ostree(repo, "rev-parse", os.Branch).Trim());
        Assert.Empty(TreeDiff.Compare(PullTestImages.Checkout(os.Repo, os.Commit2, mode), PullTestImages.Checkout(repo, os.Branch, mode), ownership: mode == "bare"));

        // The update is by the C1 -> C2 delta the image carries: the config and that one
        // layer, nothing else (not the meta layer, not a repo layer).
        var delta = DeltaLayerOf(c2, os.Commit1);
        Assert.Equal(os.Commit2, delta.Info.To);
        Assert.Equal(PullPath.Delta, second.Path);
        Assert.Equal(delta.Info, second.Delta);
        Assert.Null(second.FallbackReason);
        var expected = new[] { delta.Layer.Digest, c2.Config.Digest }.Select(d => $"/v2/os/example/blobs/{d}").Order(StringComparer.Ordinal);
        var fetched = registry.Requests("GET", "/blobs/").Skip(before).Select(r => r.Path).Order(StringComparer.Ordinal);
        Assert.Equal(expected, fetched);
        Assert.Equal(delta.Layer.Size, second.BytesTransferred);

        // ostree's own C1 -> C2 delta in the fixture: the layer carries it at a tar's overhead.
        var ostreeDelta = Directory.EnumerateFiles(Path.Combine(os.Repo, new Ostree.Summaries.DeltaName(Ostree.Objects.Checksum.Parse(os.Commit1), Ostree.Objects.Checksum.Parse(os.Commit2)).RelativeDirectory)).Sum(f => new FileInfo(f).Length);
        Assert.Equal(ostreeDelta, delta.Info.Size);
        Assert.True(second.BytesTransferred <= ostreeDelta * 1.1, $"{second.BytesTransferred} bytes fetched for a {ostreeDelta}-byte delta");

        // The pull state records the new image's repo layers: pulling C2 again is a no-op.
        var again = await ImageImporter.PullAsync(ImageImporterTests.Options(repo, image2, client: client), ct);
        Assert.True(again.UpToDate);
        Assert.Equal(PullPath.UpToDate, again.Path);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{mode}: C1 {first.BytesTransferred / 1e6:F1} MB in {first.LayersFetched} layers ({first.Path}: {first.FallbackReason}); C2 update {second.BytesTransferred / 1e6:F2} MB by delta (ostree's delta {ostreeDelta / 1e6:F2} MB)");
    }

    /// <summary>The annotated delta layer of <paramref name="image"/> from <paramref name="from"/>.</summary>
    internal static (Oci.Images.Descriptor Layer, DeltaLayerInfo Info) DeltaLayerOf(ImageBuildResult image, string from)
    {
        var layer = Assert.Single(image.Layers, l => l.Kind == LayerKind.Delta && DeltaLayerAnnotations.Read(l.Descriptor)?.From == from);
        return (layer.Descriptor, DeltaLayerAnnotations.Read(layer.Descriptor)!);
    }

    internal static readonly Lazy<(string Layout, ImageBuildResult C1, ImageBuildResult C2)> Images = new(() =>
    {
        var os = Fixtures.OsRepo;
        var (layout, c1) = PullTestImages.Build(os.Repo, os.Commit1, "c1");
        var (_, c2) = PullTestImages.Build(os.Repo, os.Branch, "c2", layout);
        return (layout, c1, c2);
    });
}
