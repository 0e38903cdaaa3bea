using OstreeContainer.ImageBuilder;
using OstreeContainer.ImageFormat;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>The OS-sized fixture: C1 then C2 through a real docker-registry; the update fetches only changed layers.</summary>
public class OsUpdateTests
{
    [Theory]
    [InlineData("archive")]
    [InlineData("bare-user")]
    [InlineData("bare")]
    public async Task Pull_OsC1ThenC2_MatchesSourceAndFetchesOnlyChangedLayers(string mode)
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

        // Only the config, the meta layer and the repo layers C1 did not have.
        var old = c1.Layers.Select(l => l.Descriptor.Digest).ToHashSet();
        var changed = c2.Layers.Where(l => l.Kind == LayerKind.Repo && !old.Contains(l.Descriptor.Digest)).Select(l => l.Descriptor.Digest).Distinct().ToList();
        var expected = changed.Append(c2.Layers.Single(l => l.Kind == LayerKind.Meta).Descriptor.Digest).Append(c2.Config.Digest)
            .Select(d => $"/v2/os/example/blobs/{d}").Order(StringComparer.Ordinal);
        var fetched = registry.Requests("GET", "/blobs/").Skip(before).Select(r => r.Path).Order(StringComparer.Ordinal);
        Assert.Equal(expected, fetched);
        var changedBytes = c2.Layers.Where(l => changed.Contains(l.Descriptor.Digest)).Sum(l => l.Descriptor.Size);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{mode}: C1 {first.BytesTransferred / 1e6:F1} MB in {first.LayersFetched} layers; C2 update {second.BytesTransferred / 1e6:F1} MB in {second.LayersFetched} layers ({changed.Count} changed repo layers, {changedBytes / 1e6:F1} MB), {second.LayersSkipped} skipped");
    }

    internal static readonly Lazy<(string Layout, ImageBuildResult C1, ImageBuildResult C2)> Images = new(() =>
    {
        var os = Fixtures.OsRepo;
        var (layout, c1) = PullTestImages.Build(os.Repo, os.Commit1, "c1");
        var (_, c2) = PullTestImages.Build(os.Repo, os.Branch, "c2", layout);
        return (layout, c1, c2);
    });
}
