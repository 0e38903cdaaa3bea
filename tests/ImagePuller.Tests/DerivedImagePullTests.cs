using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>
/// Images built by the real buildah FROM ours (and a plain one), pushed to a real
/// docker-registry and pulled pinned by digest: the commit is umoci's view of the image,
/// stands on the verified base commit, records the image, and a new derived image fetches only
/// what changed.
/// </summary>
public class DerivedImagePullTests(DerivedImagePullTests.Registry shared) : IClassFixture<DerivedImagePullTests.Registry>
{
    private const string Name = "derived/os";
    private const string Ref = "derived/test";

    /// <summary>One registry for the class, holding every buildah image under <see cref="Name"/>.</summary>
    public sealed class Registry : IDisposable
    {
        private readonly Lazy<(LocalRegistry Server, Dictionary<string, ImageReference> Pinned)> _started;

        /// <summary>Starts nothing yet: the first test that needs the registry starts it and pushes the images.</summary>
        public Registry()
        {
            _started = new(() =>
            {
                var server = LocalRegistry.Start();
                var layout = DerivedTestImages.Os.Layout;
                var pinned = new Dictionary<string, ImageReference>(StringComparer.Ordinal);
                foreach (var tag in new[] { DerivedTestImages.Derived, DerivedTestImages.DerivedPlusOne, DerivedTestImages.DerivedOnC2, DerivedTestImages.Plain })
                {
                    pinned[tag] = DerivedTestImages.PushPinned(server, Client, layout, tag, Name);
                }

                return (server, pinned);
            });
        }

        /// <summary>The client every test uses.</summary>
        public RegistryClient Client { get; } = PullTestImages.Client();

        /// <summary>The registry.</summary>
        public LocalRegistry Server => _started.Value.Server;

        /// <summary><paramref name="tag"/> pinned by its manifest digest.</summary>
        public ImageReference Pinned(string tag) => _started.Value.Pinned[tag];

        /// <inheritdoc/>
        public void Dispose()
        {
            if (_started.IsValueCreated)
            {
                _started.Value.Server.Dispose();
            }

            Client.Dispose();
        }
    }

    [Fact]
    public async Task Inspect_BuildahImages_DerivedLayersAreBuildahsAndPlainIsAllDerived()
    {
        var layout = DerivedTestImages.Os.Layout;
        var ct = TestContext.Current.CancellationToken;
        var config = Config(layout, DerivedTestImages.Derived);

        var derived = await ImageImporter.InspectAsync(shared.Pinned(DerivedTestImages.Derived), shared.Client, Platform.Current, ct);

        // buildah kept our labels (ostree.commit still names C1) and dropped the layer annotations.
        Assert.Equal(Fixtures.OsRepo.Commit1, config.Config!.Labels![ImageLabelKeys.Commit]);
        Assert.All(Manifest(layout, DerivedTestImages.Derived).Layers, l => Assert.Null(l.Annotations));
        Assert.Equal(ImageShape.Derived, derived.Shape);
        Assert.Equal(Fixtures.OsRepo.Commit1, derived.BaseCommit?.ToString());
        Assert.Equal(config.RootFs.DiffIds.TakeLast(DerivedTestImages.DerivedLayerCount), derived.DerivedLayers.Select(l => l.DiffId));

        var plain = await ImageImporter.InspectAsync(shared.Pinned(DerivedTestImages.Plain), shared.Client, Platform.Current, ct);
        Assert.Equal(ImageShape.Plain, plain.Shape);
        Assert.Null(plain.BaseCommit);
        Assert.Equal(plain.Layers.Count, plain.DerivedLayers.Count);
    }

    [Theory]
    [InlineData("archive")]
    [InlineData("bare-user")]
    [InlineData("bare")]
    public async Task Pull_DerivedImage_CommitIsUmocisTreeOnTheBaseCommitAndRecordsTheImage(string mode)
    {
        var os = Fixtures.OsRepo;
        var image = shared.Pinned(DerivedTestImages.Derived);
        var repo = PullTestImages.NewRepo(mode);

        var result = await Pull(repo, image, Ref);

        Assert.Equal(ImageShape.Derived, result.Shape);
        Assert.Equal(os.Commit1, result.BaseCommit);
        Assert.Equal(DerivedTestImages.DerivedLayerCount, result.DerivedLayers);
        Assert.Equal(result.Commit, Peer.Ostree(repo, "rev-parse", Ref).Trim());
        Peer.Ostree(repo, "fsck");
        Assert.Equal(os.Commit1, Parent(repo, result.Commit));
        DerivedTestImages.AssertCommitIsImage(repo, result.Commit, mode, DerivedTestImages.Os.Layout, DerivedTestImages.Derived);

        var digest = DerivedTestImages.ManifestDigest(DerivedTestImages.Os.Layout, DerivedTestImages.Derived);
        Assert.Equal(digest, result.Manifest);
        Assert.Equal($"'{digest}'", MetadataKey(repo, result.Commit, CommitMetadataKeys.ManifestDigest));
        Assert.Equal($"'{os.Commit1}'", MetadataKey(repo, result.Commit, CommitMetadataKeys.BaseCommit));
        Assert.Contains("schemaVersion", MetadataKey(repo, result.Commit, CommitMetadataKeys.Manifest), StringComparison.Ordinal);
        Assert.Contains("diff_ids", MetadataKey(repo, result.Commit, CommitMetadataKeys.ImageConfig), StringComparison.Ordinal);
        Assert.NotEmpty(MetadataKey(repo, result.Commit, CommitMetadataKeys.DerivedTrust));

        // /tmp/scratch was written by a RUN step: the pull says it left it out.
        Assert.NotNull(result.Dropped);
        Assert.True(result.Dropped.Values.Sum() >= 1, "nothing reported dropped, though the RUN layer wrote /tmp/scratch");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{mode}: {result.LayersFetched} layers, {result.BytesTransferred / 1e6:F1} MB, dropped {string.Join(", ", result.Dropped.Select(d => $"{d.Key}={d.Value}"))}");
    }

    [Theory]
    [InlineData("archive")]
    [InlineData("bare-user")]
    [InlineData("bare")]
    public async Task Pull_PlainImageWithRef_CommitIsUmocisTreeWithoutParent(string mode)
    {
        var image = shared.Pinned(DerivedTestImages.Plain);
        var repo = PullTestImages.NewRepo(mode);
        var before = RepoSnapshot.Of(repo);

        // A plain image names no ref: without --ref nothing is written.
        var error = await Assert.ThrowsAsync<ImagePullException>(() => Pull(repo, image, null));
        AssertOneLine(error.Message);
        Assert.Contains("--ref", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));

        var result = await Pull(repo, image, Ref);

        Assert.Equal(ImageShape.Plain, result.Shape);
        Assert.Null(result.BaseCommit);
        Peer.Ostree(repo, "fsck");
        Assert.Null(Parent(repo, result.Commit));
        DerivedTestImages.AssertCommitIsImage(repo, result.Commit, mode, DerivedTestImages.Os.Layout, DerivedTestImages.Plain);
        Assert.Equal($"'{result.Manifest}'", MetadataKey(repo, result.Commit, CommitMetadataKeys.ManifestDigest));
    }

    [Fact]
    public async Task Pull_SameDerivedAgainThenOneMoreLayer_NoOpThenFetchesOnlyTheNewLayer()
    {
        var repo = PullTestImages.NewRepo("bare-user");
        var first = await Pull(repo, shared.Pinned(DerivedTestImages.Derived), Ref);

        var before = shared.Server.Requests("GET", "/blobs/").Count;
        var snapshot = RepoSnapshot.Of(repo);
        var again = await Pull(repo, shared.Pinned(DerivedTestImages.Derived), Ref);
        Assert.True(again.UpToDate);
        Assert.Equal(first.Commit, again.Commit);
        Assert.Equal(0, again.BytesTransferred);
        Assert.Equal(snapshot, RepoSnapshot.Of(repo));

        var second = await Pull(repo, shared.Pinned(DerivedTestImages.DerivedPlusOne), Ref);

        // Both pulls together fetched d2's config and new layer, and at most d1's config (the
        // shape of an image is in its config; the registry logs a request when its response
        // ends, so which pull a config GET belongs to is not told apart here).
        var d1 = Manifest(DerivedTestImages.Os.Layout, DerivedTestImages.Derived);
        var manifest = Manifest(DerivedTestImages.Os.Layout, DerivedTestImages.DerivedPlusOne);
        var fetched = shared.Server.Requests("GET", "/blobs/").Skip(before).Select(r => Digest.Parse(r.Path[(r.Path.LastIndexOf('/') + 1)..])).ToList();
        var described = string.Join("; ", fetched.Select(d => DerivedTestImages.Describe(DerivedTestImages.Os.Layout, d, DerivedTestImages.Derived, DerivedTestImages.DerivedPlusOne)));
        Assert.True(
            fetched.Contains(manifest.Layers[^1].Digest) && fetched.Contains(manifest.Config.Digest)
            && fetched.All(d => d == manifest.Layers[^1].Digest || d == manifest.Config.Digest || d == d1.Config.Digest)
            && fetched.Count == fetched.Distinct().Count(),
            $"fetched: {described}");
        Assert.Equal(manifest.Layers[^1].Size, second.BytesTransferred);
        Assert.Equal(DerivedTestImages.DerivedLayerCount + 1, second.DerivedLayers);
        Assert.Equal(second.Commit, Peer.Ostree(repo, "rev-parse", Ref).Trim());
        Assert.Equal(Fixtures.OsRepo.Commit1, Parent(repo, second.Commit));
        Peer.Ostree(repo, "fsck");
        DerivedTestImages.AssertCommitIsImage(repo, second.Commit, "bare-user", DerivedTestImages.Os.Layout, DerivedTestImages.DerivedPlusOne);
    }

    [Fact]
    public async Task Pull_DerivedOnC2AfterDerivedOnC1_FetchesTheBasesChangesAndTheDerivedLayersOnly()
    {
        var os = Fixtures.OsRepo;
        var layout = DerivedTestImages.Os.Layout;
        var repo = PullTestImages.NewRepo("bare-user");
        await Pull(repo, shared.Pinned(DerivedTestImages.Derived), Ref);
        var before = shared.Server.Requests("GET", "/blobs/").Count;

        var result = await Pull(repo, shared.Pinned(DerivedTestImages.DerivedOnC2), Ref);

        var all = Manifest(layout, DerivedTestImages.DerivedOnC2).Layers.Sum(l => l.Size);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"C1 -> C2 derived: {result.BytesTransferred / 1e6:F2} MB of {all / 1e6:F1} MB ({result.Path}: {result.FallbackReason})");
        Assert.Equal(os.Commit2, result.BaseCommit);
        Assert.Equal(os.Commit2, Parent(repo, result.Commit));
        Peer.Ostree(repo, "fsck");
        DerivedTestImages.AssertCommitIsImage(repo, result.Commit, "bare-user", layout, DerivedTestImages.DerivedOnC2);

        // Every derived layer and the config; of the base, only layers the C1 image lacks.
        var onC1 = Manifest(layout, DerivedTestImages.Derived).Layers.Select(l => l.Digest).ToHashSet();
        var manifest = Manifest(layout, DerivedTestImages.DerivedOnC2);
        var derived = manifest.Layers.TakeLast(DerivedTestImages.DerivedLayerCount).Select(l => l.Digest).ToList();
        var fetched = shared.Server.Requests("GET", "/blobs/").Skip(before).Select(r => Digest.Parse(r.Path[(r.Path.LastIndexOf('/') + 1)..])).ToList();
        var described = string.Join("; ", fetched.Select(d => DerivedTestImages.Describe(layout, d, DerivedTestImages.Derived, DerivedTestImages.DerivedOnC2)));
        TestContext.Current.TestOutputHelper?.WriteLine($"fetched: {described}");
        Assert.True(derived.Append(manifest.Config.Digest).All(fetched.Contains), $"not every derived layer fetched: {described}");
        var baseFetched = fetched.Except(derived).Where(d => d != manifest.Config.Digest).ToList();
        Assert.True(baseFetched.All(d => !onC1.Contains(d)), $"a layer the C1 image shares fetched again: {described}");
        Assert.True(result.BytesTransferred < all / 2, $"{result.BytesTransferred} bytes fetched of the image's {all}");
        // buildah dropped the C2 image's layer annotations; its delta-layers label still names
        // the C1 -> C2 delta, so the moved base comes by that one layer.
        Assert.Equal(PullPath.Delta, result.Path);
        Assert.Equal(os.Commit1, result.Delta?.From);
        Assert.True(baseFetched.Count == 1, $"of the base, only the delta layer should be fetched: {described}");
    }

    [Fact]
    public async Task Pull_ImportedDerivedCommitBuiltAgain_ImageTreeIsTheDerivedImagesTree()
    {
        var repo = PullTestImages.NewRepo("archive");
        var result = await Pull(repo, shared.Pinned(DerivedTestImages.Derived), Ref);

        var (layout, _) = PullTestImages.Build(repo, result.Commit, "roundtrip");

        var diffs = TreeDiff.Compare(
            DerivedTestImages.UmociTree(DerivedTestImages.Os.Layout, DerivedTestImages.Derived),
            DerivedTestImages.UmociTree(layout, "roundtrip"),
            ownership: true);
        Assert.True(diffs.Count == 0, string.Join('\n', diffs.Take(40)));
    }

    internal static Task<PullResult> Pull(string repo, ImageReference image, string? reference, PullTrust? trust = null, RegistryClient? client = null) =>
        ImageImporter.PullAsync(
            ImageImporterTests.Options(repo, image, trust, client) with { Ref = reference },
            TestContext.Current.CancellationToken);

    private Task<PullResult> Pull(string repo, ImageReference image, string? reference) => Pull(repo, image, reference, client: shared.Client);

    internal static void AssertOneLine(string message)
    {
        Assert.False(string.IsNullOrWhiteSpace(message));
        Assert.DoesNotContain('\n', message);
    }

    /// <summary>The parent of <paramref name="commit"/> by the real ostree, or null when it has none.</summary>
    internal static string? Parent(string repo, string commit)
    {
        var run = Peer.Run("ostree", [$"--repo={repo}", "rev-parse", $"{commit}^"]);
        return run.ExitCode == 0 ? run.Stdout.Trim() : null;
    }

    /// <summary>A commit metadata value as the real ostree prints it (GVariant text).</summary>
    internal static string MetadataKey(string repo, string commit, string key) =>
        Peer.Ostree(repo, "show", $"--print-metadata-key={key}", commit).Trim();

    private static ImageManifest Manifest(string layout, string tag) => OciJson.ParseManifest(ImageLayout.Open(layout).ResolveManifest(tag).Bytes);

    private static ImageConfig Config(string layout, string tag)
    {
        var image = ImageLayout.Open(layout);
        return OciJson.ParseConfig(image.ReadBlob(Manifest(layout, tag).Config, OciJson.MaxDocumentBytes));
    }
}
