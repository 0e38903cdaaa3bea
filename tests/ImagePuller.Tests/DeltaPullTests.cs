using System.Formats.Tar;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>
/// The delta path on the small fixture, with deltas made by the real <c>ostree static-delta
/// generate</c> and commits signed by the real <c>ostree gpg-sign</c>: a delta carrying the
/// commit's signature applies with it checked; one generated before signing, or a delta
/// layer whose entries break the format, falls back to the repo layers and says why.
/// </summary>
public sealed class DeltaPullTests
{
    private const string Ref = "fixture/main";

    private static readonly Lazy<Setup> Images = new(Create);

    [Fact]
    public async Task Pull_SignedCommitWhoseDeltaCarriesTheSignature_AppliedWithSignatureChecked()
    {
        var s = Images.Value;
        var repo = await RepoHoldingC1(s, "bare-user");

        var result = await Pull(repo, s.Image("c2-delta-signed"), s.Trust);

        Assert.Equal((PullPath.Delta, Fixtures.SmallRepo.Commit1), (result.Path, result.Delta?.From));
        Assert.Contains("GPG key", result.SignedBy, StringComparison.Ordinal);
        Assert.Equal(Fixtures.SmallRepo.Commit2, Peer.Ostree(repo, "rev-parse", Ref).Trim());
        Peer.Ostree(repo, "fsck");
        // The superblock's detached metadata became the commitmeta: ostree verifies it too.
        Peer.Ostree(repo, "remote", "add", "--gpg-import", s.Keyring, "check", "http://127.0.0.1:1/unused");
        Assert.Contains("Good signature", Peer.Ostree(repo, "show", "--gpg-verify-remote=check", Ref), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_SignedCommitWhoseDeltaLacksCommitmeta_FallsBackToLayersAndVerifiesFromTheMetaLayer()
    {
        var s = Images.Value;
        var repo = await RepoHoldingC1(s, "archive");
        var before = RepoSnapshot.Of(repo);
        SortedSet<string>? atFallback = null;

        var result = await ImageImporter.PullAsync(
            ImageImporterTests.Options(repo, s.Image("c2-delta-unsigned"), s.Trust) with
            {
                Progress = p => atFallback ??= p.Message?.StartsWith("falling back", StringComparison.Ordinal) == true ? RepoSnapshot.Of(repo) : null,
            },
            TestContext.Current.CancellationToken);

        Assert.Equal(before, atFallback);
        Assert.Equal(PullPath.Layers, result.Path);
        Assert.StartsWith($"delta {Fixtures.SmallRepo.Commit1[..12]} -> {Fixtures.SmallRepo.Commit2[..12]} failed:", result.FallbackReason, StringComparison.Ordinal);
        Assert.Contains("GPG key", result.SignedBy, StringComparison.Ordinal);
        Peer.Ostree(repo, "fsck");
        TestContext.Current.TestOutputHelper?.WriteLine(result.FallbackReason ?? "");
    }

    [Theory]
    [InlineData("c2-superblock-last", "not the superblock")]
    [InlineData("c2-entry-outside", "is outside the delta directory")]
    [InlineData("c2-part-missing", "part 0 is not in the layer")]
    [InlineData("c2-swapped-superblock", "the superblock is of delta")]
    public async Task Pull_DeltaLayerBreakingTheFormat_FallsBackToLayersAndSaysWhy(string tag, string why)
    {
        var s = Images.Value;
        var repo = await RepoHoldingC1(s, "bare-user");
        var before = RepoSnapshot.Of(repo);

        var result = await Pull(repo, s.Image(tag), s.Trust);

        Assert.Equal(PullPath.Layers, result.Path);
        Assert.Contains(why, result.FallbackReason, StringComparison.Ordinal);
        Assert.Equal(Fixtures.SmallRepo.Commit2, Peer.Ostree(repo, "rev-parse", Ref).Trim());
        Assert.NotEqual(before, RepoSnapshot.Of(repo));
        Peer.Ostree(repo, "fsck");
    }

    private static async Task<string> RepoHoldingC1(Setup s, string mode)
    {
        var repo = PullTestImages.NewRepo(mode);
        var first = await Pull(repo, s.Image("c1"), s.Trust);
        Assert.Equal((PullPath.Layers, "the image carries no delta"), (first.Path, first.FallbackReason));
        return repo;
    }

    private static Task<PullResult> Pull(string repo, ImageReference image, PullTrust trust) =>
        ImageImporter.PullAsync(ImageImporterTests.Options(repo, image, trust) with { Ref = Ref }, TestContext.Current.CancellationToken);

    private static Setup Create()
    {
        var small = Fixtures.SmallRepo;
        var gpg = new GpgTestHome();
        var key = gpg.GenerateKey("Delta Signer <delta@example.org>");
        var dir = Fixtures.TempDirectory("delta-signed");
        var keyring = Path.Combine(dir, "good.gpg");
        File.WriteAllBytes(keyring, gpg.Export(key));
        var layout = Path.Combine(dir, "layout");

        // Signed, then the delta generated: the superblock carries the signature.
        var after = Path.Combine(dir, "signed-then-delta");
        Peer.Check("cp", "-a", small.ArchiveRepo, after);
        Peer.Ostree(after, "gpg-sign", $"--gpg-homedir={gpg.Directory}", small.Commit1, key);
        Peer.Ostree(after, "gpg-sign", $"--gpg-homedir={gpg.Directory}", small.Commit2, key);
        Peer.Ostree(after, "static-delta", "generate", $"--from={small.Commit1}", $"--to={small.Commit2}");
        PullTestImages.Build(after, small.Commit1, "c1", layout);
        var (_, signed) = PullTestImages.Build(after, Ref, "c2-delta-signed", layout);

        // The delta generated, then C2 signed: the superblock has no signature.
        var before = Path.Combine(dir, "delta-then-signed");
        Peer.Check("cp", "-a", small.ArchiveRepo, before);
        Peer.Ostree(before, "gpg-sign", $"--gpg-homedir={gpg.Directory}", small.Commit1, key);
        Peer.Ostree(before, "static-delta", "generate", $"--from={small.Commit1}", $"--to={small.Commit2}");
        Peer.Ostree(before, "gpg-sign", $"--gpg-homedir={gpg.Directory}", small.Commit2, key);
        PullTestImages.Build(before, Ref, "c2-delta-unsigned", layout);

        var index = signed.Layers.Select((l, i) => (l, i)).Single(x => x.l.Kind == LayerKind.Delta && DeltaLayerAnnotations.Read(x.l.Descriptor)?.From == small.Commit1).i;
        (TarEntry Entry, byte[]? Data)? superblock = null;
        PullTestImages.RewriteLayer(layout, "c2-delta-signed", "c2-superblock-last", index, (entry, data) =>
        {
            if (entry.Name.EndsWith("/superblock", StringComparison.Ordinal))
            {
                superblock = (entry, data);
                return [];
            }

            return PullTestImages.Keep(entry, data);
        }, Later(() => superblock!.Value));
        Assert.True(superblock is not null);
        var parts = 0;
        PullTestImages.RewriteLayer(layout, "c2-delta-signed", "c2-part-missing", index, (entry, data) =>
        {
            if (entry.Name.EndsWith("/0", StringComparison.Ordinal))
            {
                parts++;
                return [];
            }

            return PullTestImages.Keep(entry, data);
        });
        Assert.True(parts == 1, "ostree's small delta has no part file 0 (all inline?)");
        // Another valid delta of the same signed commit (from scratch) in the annotated delta's
        // place: applying it would be sound, but it is not the delta the manifest names.
        Peer.Ostree(after, "static-delta", "generate", "--empty", $"--to={small.Commit2}");
        var scratch = File.ReadAllBytes(Path.Combine(after, new Ostree.Summaries.DeltaName(null, Ostree.Objects.Checksum.Parse(small.Commit2)).SuperblockPath));
        PullTestImages.RewriteLayer(layout, "c2-delta-signed", "c2-swapped-superblock", index, (entry, data) =>
            entry.Name.EndsWith("/superblock", StringComparison.Ordinal) ? [(entry, scratch)] : PullTestImages.Keep(entry, data));
        PullTestImages.RewriteLayer(layout, "c2-delta-signed", "c2-entry-outside", index, PullTestImages.Keep, [PullTestImages.NewFile("ostree/repo/refs/heads/evil", [1, 2, 3])]);
        return new Setup(gpg, layout, keyring);
    }

    // Evaluated when enumerated, after the rewrite saw every entry.
    private static IEnumerable<(TarEntry, byte[]?)> Later(Func<(TarEntry, byte[]?)> entry)
    {
        yield return entry();
    }

    private sealed record Setup(GpgTestHome Gpg, string Layout, string Keyring)
    {
        public PullTrust Trust => new() { KeyringPath = Keyring };

        public ImageReference Image(string tag) => ImageReference.Parse($"oci:{Layout}:{tag}");
    }
}
