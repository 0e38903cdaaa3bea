using System.Buffers.Binary;
using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Ostree.Tests.Deltas;

/// <summary>
/// The commit's signatures (from the detached metadata inside the superblock) follow the
/// policy, and a signed superblock (OSTSGNDT wrapper) is verified when the policy lists
/// ed25519 keys; a refusal leaves the repository as it was.
/// </summary>
public sealed class ApplySignatureTests
{
    private static readonly Ed25519SecretKey Key = Ed25519SecretKey.Generate();
    private static readonly Ed25519SecretKey OtherKey = Ed25519SecretKey.Generate();

    /// <summary>A from-scratch delta (made by ostree) of the odd tree's O2 after we signed O2 with <see cref="Key"/>.</summary>
    private static readonly Lazy<string> SignedCommitDelta = new(() =>
    {
        var odd = ApplyFixtures.Odd;
        var repoPath = ApplyFixtures.CopyRepo(odd.Repo);
        var repo = OstreeRepo.Open(repoPath);
        var o2 = Checksum.Parse(odd.Commit2);
        var detached = repo.ReadCommitMeta(o2) ?? new VariantDictionary();
        Ed25519Signatures.Sign(detached, repo.ReadMetadataBytes(o2, ObjectType.Commit), Key);
        using (var tx = repo.BeginTransaction())
        {
            tx.WriteCommitMeta(o2, detached);
            tx.Commit();
        }

        var dir = Fixtures.TempDirectory("signed-commit");
        Peer.Ostree(repoPath, "static-delta", "generate", "--empty", $"--to={o2}", "--min-fallback-size=0", $"--filename={Path.Combine(dir, "superblock")}");
        return dir;
    });

    [Fact]
    public async Task UnsignedCommit_PolicyRequiresAKey_RefusedAndNothingVisible()
    {
        var repo = ApplyFixtures.NewRepo("bare-user");
        var before = RepoSnapshot.Of(repo);

        var e = await Assert.ThrowsAsync<SignatureVerificationException>(() => DeltaApplier.ApplyOfflineAsync(
            OstreeRepo.Open(repo), ApplyFixtures.Odd.Delta("scratch"), new DeltaApplyOptions { SignaturePolicy = Ed25519Policy(Key), Ref = RefName.Parse("odd") }));

        Assert.Contains("no signatures found", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
        ApplyFixtures.AssertNoLeftovers(repo);
    }

    [Fact]
    public async Task SignedCommit_TrustedKey_AppliedWithItsSignatures()
    {
        var repoPath = ApplyFixtures.NewRepo("bare-user");

        await DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(repoPath), SignedCommitDelta.Value, new DeltaApplyOptions { SignaturePolicy = Ed25519Policy(Key), Ref = RefName.Parse("odd") });

        var repo = OstreeRepo.Open(repoPath);
        var o2 = Checksum.Parse(ApplyFixtures.Odd.Commit2);
        Assert.Equal(o2, repo.ResolveRev("odd"));
        Assert.Single(SignatureMetadata.GetSignatures(repo.ReadCommitMeta(o2), SignatureMetadata.Ed25519Key));
        CommitSignatures.Verify(o2, repo.ReadMetadataBytes(o2, ObjectType.Commit), repo.ReadCommitMeta(o2), Ed25519Policy(Key));
        ApplyFixtures.AssertFsckClean(repoPath);
    }

    [Fact]
    public async Task SignedCommit_OtherKey_RefusedAndNothingVisible()
    {
        var repo = ApplyFixtures.NewRepo("archive");
        var before = RepoSnapshot.Of(repo);

        await Assert.ThrowsAsync<SignatureVerificationException>(() => DeltaApplier.ApplyOfflineAsync(
            OstreeRepo.Open(repo), SignedCommitDelta.Value, new DeltaApplyOptions { SignaturePolicy = Ed25519Policy(OtherKey), Ref = RefName.Parse("odd") }));

        Assert.Equal(before, RepoSnapshot.Of(repo));
        ApplyFixtures.AssertNoLeftovers(repo);
    }

    [Fact]
    public async Task SignedSuperblock_TrustedKey_Applied()
    {
        var delta = WrapSuperblock(SignedCommitDelta.Value, Key);
        var repo = ApplyFixtures.NewRepo("bare-user");

        var result = await DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(repo), delta, new DeltaApplyOptions { SignaturePolicy = Ed25519Policy(Key) });

        Assert.Equal(ApplyFixtures.Odd.Commit2, result.Name.To.ToString());
        ApplyFixtures.AssertFsckClean(repo);
    }

    [Fact]
    public async Task SignedSuperblock_SignedByAnUntrustedKey_RefusedAndNothingVisible()
    {
        // The commit itself is signed by the trusted key: only the superblock's signature is wrong.
        var delta = WrapSuperblock(SignedCommitDelta.Value, OtherKey);
        var repo = ApplyFixtures.NewRepo("bare-user");
        var before = RepoSnapshot.Of(repo);

        var e = await Assert.ThrowsAsync<SignatureVerificationException>(() => DeltaApplier.ApplyOfflineAsync(
            OstreeRepo.Open(repo), delta, new DeltaApplyOptions { SignaturePolicy = Ed25519Policy(Key) }));

        Assert.StartsWith("delta superblock:", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
    }

    [Fact]
    public async Task SignedSuperblock_NoPolicy_AppliedUnchecked()
    {
        var delta = WrapSuperblock(ApplyFixtures.Odd.Delta("scratch"), OtherKey);
        var repo = ApplyFixtures.NewRepo("bare-user");

        await DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(repo), delta, new DeltaApplyOptions());

        Assert.Contains($"{ApplyFixtures.Odd.Commit2}.commit", ApplyFixtures.ObjectSet(repo));
    }

    private static SignaturePolicy Ed25519Policy(Ed25519SecretKey key) => new(Ed25519Keys: [key.PublicKey]);

    /// <summary>A copy of a delta whose superblock is wrapped as <c>static-delta generate --sign</c> does (§8.7).</summary>
    private static string WrapSuperblock(string delta, Ed25519SecretKey key)
    {
        var dir = Fixtures.TempDirectory("signed-superblock");
        foreach (var file in Directory.EnumerateFiles(delta))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }

        var inner = File.ReadAllBytes(Path.Combine(delta, "superblock"));
        var signatures = new VariantDictionary();
        Ed25519Signatures.Sign(signatures, inner, key);
        // The magic is a big-endian t: its bytes spell "OSTSGNDT".
        var magic = BinaryPrimitives.ReadUInt64LittleEndian("OSTSGNDT"u8);
        var wrapped = GVariantWriter.Encode(GVariantType.Parse("(taya{sv})"), new object[] { magic, inner, signatures.ToValue() });
        File.WriteAllBytes(Path.Combine(dir, "superblock"), wrapped);
        return dir;
    }
}
