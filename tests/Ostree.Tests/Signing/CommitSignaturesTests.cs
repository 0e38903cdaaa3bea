using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Ostree.Tests.Signing;

/// <summary>The facade a puller calls, on commits signed by the real <c>ostree gpg-sign</c>.</summary>
public class CommitSignaturesTests
{
    private static SignedFixture Fx => SignedFixture.Instance;

    private static string Commit2 => Fixtures.SmallRepo.Commit2;

    private static SignaturePolicy GpgPolicy(string key) => new(GpgKeyring.Parse(Fx.Home.Export(key)));

    [Fact]
    public void Verify_GpgSignedCommitAndGpgPolicy_ReportsTheSignature()
    {
        var report = CommitSignatures.Verify(Checksum.Parse(Commit2), Fx.CommitBytes(Commit2), Fx.CommitMeta(Commit2), GpgPolicy(Fx.RsaKey));

        Assert.Equal(Fx.RsaKey, Assert.Single(report.Gpg!.Signatures).Fingerprint);
        Assert.Null(report.Ed25519);
    }

    [Fact]
    public void Verify_UnknownKey_ThrowsNamingTheCommit()
    {
        var error = Assert.Throws<SignatureVerificationException>(() =>
            CommitSignatures.Verify(Checksum.Parse(Commit2), Fx.CommitBytes(Commit2), Fx.CommitMeta(Commit2), GpgPolicy(Fx.OtherKey)));

        Assert.Equal($"commit e81ef8725f52…: no valid GPG signature (1 signature by unknown key 0x{SignedFixture.KeyId(Fx.RsaKey)})", error.Message);
    }

    [Fact]
    public void Verify_UnsignedCommitAndGpgPolicy_ThrowsNoSignaturesFound()
    {
        var fx = Fixtures.SmallRepo;
        var bytes = File.ReadAllBytes(SignedFixture.ObjectPath(fx.ArchiveRepo, fx.Commit2, "commit"));
        Assert.False(File.Exists(SignedFixture.ObjectPath(fx.ArchiveRepo, fx.Commit2, "commitmeta")));

        var error = Assert.Throws<SignatureVerificationException>(() =>
            CommitSignatures.Verify(Checksum.Parse(fx.Commit2), bytes, null, GpgPolicy(Fx.RsaKey)));

        Assert.Equal("commit e81ef8725f52…: GPG verification enabled, but no signatures found", error.Message);
        Assert.Equal(SignatureFailure.NoSignature, error.Reason);
    }

    [Fact]
    public void Verify_NoRequirement_AcceptsUnsignedCommit()
    {
        var report = CommitSignatures.Verify(Checksum.Parse(Commit2), Fx.CommitBytes(Commit2), null, SignaturePolicy.None);

        Assert.Null(report.Gpg);
        Assert.Null(report.Ed25519);
    }

    [Fact]
    public void Verify_BytesOfAnotherCommit_ThrowsInvalidData()
    {
        // Commit 2's valid signature must not vouch for bytes that are not commit 2.
        var commit1 = Fixtures.SmallRepo.Commit1;

        var error = Assert.Throws<InvalidDataException>(() =>
            CommitSignatures.Verify(Checksum.Parse(Commit2), Fx.CommitBytes(commit1), Fx.CommitMeta(Commit2), GpgPolicy(Fx.RsaKey)));

        Assert.Equal($"commit e81ef8725f52…: the bytes given hash to {commit1}, not to the commit's checksum", error.Message);
    }

    [Fact]
    public void Verify_SignatureEntryOfWrongType_ThrowsInvalidDataNamingTheCommit()
    {
        var meta = new VariantDictionary([new(SignatureMetadata.GpgKey, Variant.FromString("x"))]);

        var error = Assert.Throws<InvalidDataException>(() =>
            CommitSignatures.Verify(Checksum.Parse(Commit2), Fx.CommitBytes(Commit2), meta, GpgPolicy(Fx.RsaKey)));

        Assert.Equal("commit e81ef8725f52…: ostree.gpgsigs: type 's', expected 'aay'", error.Message);
    }

    [Fact]
    public void Verify_ExpiredKeyAtTheGivenTime_Throws()
    {
        var bytes = Fx.CommitBytes(Commit2);
        var meta = new VariantDictionary();
        SignatureMetadata.AppendSignature(meta, SignatureMetadata.GpgKey, Fx.Home.DetachSign(Fx.ExpiringKey, bytes));
        var policy = GpgPolicy(Fx.ExpiringKey);

        CommitSignatures.Verify(Checksum.Parse(Commit2), bytes, meta, policy);
        var error = Assert.Throws<SignatureVerificationException>(() =>
            CommitSignatures.Verify(Checksum.Parse(Commit2), bytes, meta, policy, new FixedTimeProvider(DateTimeOffset.UtcNow.AddDays(3))));

        Assert.Equal(SignatureFailure.ExpiredKey, error.Reason);
    }
}
