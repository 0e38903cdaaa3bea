using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>Round trips of the small fixture through a real docker-registry into archive, bare-user and bare repos.</summary>
public class ImageImporterTests
{
    private static readonly Lazy<(string Layout, ImageBuilder.ImageBuildResult Result)> SmallImage =
        new(() => PullTestImages.Build(Fixtures.SmallRepo.ArchiveRepo, "fixture/main", "main"));

    internal static ImagePullOptions Options(string repo, ImageReference image, PullTrust? trust = null, Oci.Registry.RegistryClient? client = null) => new()
    {
        RepoPath = repo,
        Image = image,
        Trust = trust ?? new PullTrust { InsecureNoSignature = true },
        Registry = client,
    };

    [Theory]
    [InlineData("archive")]
    [InlineData("bare-user")]
    [InlineData("bare")]
    public async Task Pull_SmallImageFromRegistry_MatchesSourceAndSkipsTreeLayers(string mode)
    {
        using var registry = LocalRegistry.Start();
        var (layout, built) = SmallImage.Value;
        var image = PullTestImages.Push(registry, layout, built, "fixture/small", "main");
        var before = registry.Requests("GET", "/blobs/").Count;
        var repo = PullTestImages.NewRepo(mode);
        using var client = PullTestImages.Client();

        var result = await ImageImporter.PullAsync(Options(repo, image, client: client), TestContext.Current.CancellationToken);

        Assert.Equal(Fixtures.SmallRepo.Commit2, result.Commit);
        Assert.False(result.SignatureVerified);
        Peer.Ostree(repo, "fsck");
        Assert.Equal(Fixtures.SmallRepo.Commit2, Peer.Ostree(repo, "rev-parse", "fixture/main").Trim());
        Assert.Empty(TreeDiff.Compare(
            PullTestImages.Checkout(Fixtures.SmallRepo.ArchiveRepo, Fixtures.SmallRepo.Commit2, mode),
            PullTestImages.Checkout(repo, "fixture/main", mode),
            ownership: mode == "bare"));

        var fetched = registry.Requests("GET", "/blobs/").Skip(before).Select(r => r.Path).ToList();
        foreach (var tree in built.Layers.Where(l => l.Kind == LayerKind.Tree))
        {
            Assert.DoesNotContain(fetched, p => p.Contains(tree.Descriptor.Digest.ToString(), StringComparison.Ordinal));
        }

        // Config, meta and the repo layers (identical empty chunks share a digest), each once.
        var expected = built.Layers.Where(l => l.Kind is LayerKind.Repo or LayerKind.Meta).Select(l => l.Descriptor.Digest).Append(built.Config.Digest).Distinct();
        Assert.Equal(expected.Select(d => $"/v2/fixture/small/blobs/{d}").Order(StringComparer.Ordinal), fetched.Order(StringComparer.Ordinal));

        // The same image again is a no-op: only the config is read (for the ref label).
        var afterFirst = registry.Requests("GET", "/blobs/").Count;
        var again = await ImageImporter.PullAsync(Options(repo, image, client: client), TestContext.Current.CancellationToken);
        Assert.True(again.UpToDate);
        Assert.All(registry.Requests("GET", "/blobs/").Skip(afterFirst), r => Assert.Equal($"/v2/fixture/small/blobs/{built.Config.Digest}", r.Path));
        Assert.Equal(0, again.BytesTransferred);
    }

    [Fact]
    public async Task Pull_OciLayout_IntoArchive_FsckClean()
    {
        var (layout, _) = SmallImage.Value;
        var repo = PullTestImages.NewRepo("archive");

        var result = await ImageImporter.PullAsync(Options(repo, ImageReference.Parse($"oci:{layout}:main")) with { Ref = "imported/main" }, TestContext.Current.CancellationToken);

        Assert.Equal(Fixtures.SmallRepo.Commit2, result.Commit);
        Peer.Ostree(repo, "fsck");
        Assert.Equal(Fixtures.SmallRepo.Commit2, Peer.Ostree(repo, "rev-parse", "imported/main").Trim());
    }

    [Fact]
    public async Task Pull_NoKeysAndNoInsecureFlag_StopsBeforeFetchingWithHowTo()
    {
        using var registry = LocalRegistry.Start();
        var repo = PullTestImages.NewRepo("archive");
        var snapshot = RepoSnapshot.Of(repo);

        var error = await Assert.ThrowsAsync<ImagePullException>(() => ImageImporter.PullAsync(
            Options(repo, ImageReference.Parse($"docker://{registry.Host}/fixture/small:main"), new PullTrust()), TestContext.Current.CancellationToken));

        Assert.Contains("--keyring", error.Message, StringComparison.Ordinal);
        Assert.Contains("--insecure-no-signature", error.Message, StringComparison.Ordinal);
        Assert.Empty(registry.Requests(pathContains: "/v2/fixture"));
        Assert.Equal(snapshot, RepoSnapshot.Of(repo));
    }

    [Fact]
    public async Task Pull_IntoBareUserOnlyRepo_SaysWhichModesWork()
    {
        var (layout, _) = SmallImage.Value;
        var repo = PullTestImages.NewRepo("bare-user-only");

        var error = await Assert.ThrowsAsync<ImagePullException>(() => ImageImporter.PullAsync(
            Options(repo, ImageReference.Parse($"oci:{layout}:main")), TestContext.Current.CancellationToken));

        Assert.Contains("archive, bare-user and bare", error.Message, StringComparison.Ordinal);
    }
}
