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

    [Fact]
    public async Task Pull_TamperedDeltaPartWithValidDigest_FallsBackToRepoLayersSaysWhyAndSucceeds()
    {
        var os = Fixtures.OsRepo;
        var (layout, _, c2) = Images.Value;
        var tag = Tampered.Value;
        using var registry = LocalRegistry.Start();
        var image = PushTag(registry, layout, tag, "os/tampered");
        var repo = RepoHoldingC1("archive");
        using var client = PullTestImages.Client();
        var before = RepoSnapshot.Of(repo);
        SortedSet<string>? atFallback = null;
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();

        var result = await ImageImporter.PullAsync(ImageImporterTests.Options(repo, image, client: client) with
        {
            Ref = os.Branch,
            Progress = p =>
            {
                if (p.Message is { } m)
                {
                    lines.Enqueue(m);
                    if (m.StartsWith("falling back", StringComparison.Ordinal))
                    {
                        atFallback = RepoSnapshot.Of(repo);
                    }
                }
            },
        }, TestContext.Current.CancellationToken);

        // The failed application left nothing behind; then the repo layers brought C2.
        Assert.Equal(before, atFallback);
        Assert.Equal(PullPath.Layers, result.Path);
        Assert.Null(result.Delta);
        Assert.Contains($"delta {os.Commit1[..12]} -> {os.Commit2[..12]} failed", result.FallbackReason, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("falling back to the repo layers: delta", StringComparison.Ordinal));
        Assert.Equal(os.Commit2, Peer.Ostree(repo, "rev-parse", os.Branch).Trim());
        Peer.Ostree(repo, "fsck");
        var fetched = registry.Requests("GET", "/blobs/").Select(r => r.Path).ToList();
        Assert.Contains(fetched, f => f.EndsWith(c2.Layers.Single(l => l.Kind == LayerKind.Meta).Descriptor.Digest.ToString(), StringComparison.Ordinal));
        TestContext.Current.TestOutputHelper?.WriteLine(result.FallbackReason ?? "");
    }

    [Fact]
    public async Task Pull_DeltaFromACommitTheRepoLacks_RepoLayersAndSaysWhy()
    {
        var os = Fixtures.OsRepo;
        var (layout, _, c2) = Images.Value;
        using var registry = LocalRegistry.Start();
        var image = PushTag(registry, layout, "c2", "os/fresh");
        var repo = PullTestImages.NewRepo("bare-user");
        using var client = PullTestImages.Client();
        var info = await ImageImporter.InspectAsync(image, client, Oci.Images.Platform.Current, TestContext.Current.CancellationToken);
        var plan = ImageImporter.PlanPull(info, repo);
        Assert.Equal(PullPath.Layers, plan.Path);
        Assert.Equal("no delta in the image starts from a commit this repository has", plan.Reason);

        var result = await ImageImporter.PullAsync(ImageImporterTests.Options(repo, image, client: client), TestContext.Current.CancellationToken);

        Assert.Equal((PullPath.Layers, plan.Reason), (result.Path, result.FallbackReason));
        Assert.Equal(plan.BytesToFetch, result.BytesTransferred);
        Assert.DoesNotContain(registry.Requests("GET", "/blobs/"), r => r.Path.EndsWith(DeltaLayerOf(c2, os.Commit1).Layer.Digest.ToString(), StringComparison.Ordinal));
        Peer.Ostree(repo, "fsck");
    }

    [Fact]
    public async Task Pull_ConnectionDroppedMidDelta_ResumesWithRangeAndAppliesTheDelta()
    {
        var os = Fixtures.OsRepo;
        var (layout, _, c2) = Images.Value;
        using var registry = LocalRegistry.Start();
        PushTag(registry, layout, "c2", "os/drop");
        var delta = DeltaLayerOf(c2, os.Commit1);
        using var proxy = new RegistryFaultProxy(registry.Port);
        proxy.Inject("GET", $"/blobs/{delta.Layer.Digest}", HttpFault.DropDuringResponseBody);
        var repo = RepoHoldingC1("bare-user");
        using var client = PullTestImages.Client();

        var result = await ImageImporter.PullAsync(
            ImageImporterTests.Options(repo, Oci.ImageReference.Parse($"docker://{proxy.Host}/os/drop:c2"), client: client) with { Ref = os.Branch },
            TestContext.Current.CancellationToken);

        Assert.Equal(PullPath.Delta, result.Path);
        Assert.Single(proxy.Log, r => r.Fault == HttpFault.DropDuringResponseBody);
        var resumed = Assert.Single(proxy.Log, r => r.Path.EndsWith(delta.Layer.Digest.ToString(), StringComparison.Ordinal) && r.Range is not null);
        Assert.Equal(HttpFault.None, resumed.Fault);
        Assert.Equal(delta.Layer.Size, result.BytesTransferred);
        Assert.Equal(os.Commit2, Peer.Ostree(repo, "rev-parse", os.Branch).Trim());
        Peer.Ostree(repo, "fsck");
    }

    // A repo holding C1 (no ref, no pull state) copied by the real ostree: the delta's from-commit.
    private static string RepoHoldingC1(string mode)
    {
        var repo = PullTestImages.NewRepo(mode);
        Peer.Ostree(repo, "pull-local", Fixtures.OsRepo.Repo, Fixtures.OsRepo.Commit1);
        return repo;
    }

    private static Oci.ImageReference PushTag(LocalRegistry registry, string layout, string tag, string name)
    {
        var target = Oci.ImageReference.Parse($"docker://{registry.Host}/{name}:{tag}");
        var image = Oci.Layout.ImageLayout.Open(layout);
        using var client = PullTestImages.Client();
        LayoutPush.PushAsync(image, image.ResolveManifest(tag).Bytes, client, target).GetAwaiter().GetResult();
        return target;
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

    // C2 with one byte of the C1 -> C2 delta's part 0 flipped, the layer re-built with a
    // valid digest and diff_id (so only the applier can tell), under tag c2-tampered-delta.
    private static readonly Lazy<string> Tampered = new(() =>
    {
        var (layout, _, c2) = Images.Value;
        var index = c2.Layers.Select((l, i) => (l, i)).Single(x => x.l.Kind == LayerKind.Delta && DeltaLayerAnnotations.Read(x.l.Descriptor)?.From == Fixtures.OsRepo.Commit1).i;
        var flipped = false;
        PullTestImages.RewriteLayer(layout, "c2", "c2-tampered-delta", index, (entry, data) =>
        {
            if (entry.Name.EndsWith("/0", StringComparison.Ordinal))
            {
                data = (byte[])data!.Clone();
                data[data.Length / 2] ^= 0x55;
                flipped = true;
            }

            return PullTestImages.Keep(entry, data);
        });
        Assert.True(flipped, "the C1 -> C2 delta layer has no part 0");
        return "c2-tampered-delta";
    });
}
