using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Ostree.Tests.Signing;

/// <summary>Which signatures a policy requires, when GPG and ed25519 are combined.</summary>
public class SignaturePolicyTests
{
    private static SignedFixture Fx => SignedFixture.Instance;

    private static string Commit2 => Fixtures.SmallRepo.Commit2;

    private static GpgKeyring RsaKeyring => GpgKeyring.Parse(Fx.Home.Export(Fx.RsaKey));

    [Fact]
    public void Requires_FollowWhatIsConfigured()
    {
        Assert.False(SignaturePolicy.None.RequiresGpg);
        Assert.False(SignaturePolicy.None.RequiresEd25519);
        Assert.True(new SignaturePolicy(GpgKeyring.Empty).RequiresGpg);
        Assert.True(new SignaturePolicy(Ed25519Keys: []).RequiresEd25519);
    }

    [Fact]
    public void Verify_BothRequiredButOnlyGpgSigned_ThrowsForEd25519()
    {
        // ostree gpg-sign added only a GPG signature to commit 2.
        var policy = new SignaturePolicy(RsaKeyring, [Ed25519SecretKey.Generate().PublicKey]);

        var error = Assert.Throws<SignatureVerificationException>(() =>
            CommitSignatures.Verify(Checksum.Parse(Commit2), Fx.CommitBytes(Commit2), Fx.CommitMeta(Commit2), policy));

        Assert.Equal("commit e81ef8725f52…: ed25519 verification enabled, but no signatures found", error.Message);
    }

    [Fact]
    public void Verify_BothRequiredAndBothPresent_ReportsBoth()
    {
        var key = Ed25519SecretKey.Generate();
        var bytes = Fx.CommitBytes(Commit2);
        var meta = Fx.CommitMeta(Commit2);
        Ed25519Signatures.Sign(meta, bytes, key);

        var report = CommitSignatures.Verify(Checksum.Parse(Commit2), bytes, meta, new SignaturePolicy(RsaKeyring, [key.PublicKey]));

        Assert.True(report.Gpg!.IsValid);
        Assert.Equal(key.PublicKey, report.Ed25519!.ValidKey);
    }

    [Fact]
    public void Verify_Ed25519OnlyWithGpgSignaturePresent_DoesNotAcceptGpgInstead()
    {
        var policy = new SignaturePolicy(Ed25519Keys: [Ed25519SecretKey.Generate().PublicKey]);

        var error = Assert.Throws<SignatureVerificationException>(() =>
            CommitSignatures.Verify(Checksum.Parse(Commit2), Fx.CommitBytes(Commit2), Fx.CommitMeta(Commit2), policy));

        Assert.Equal(SignatureFailure.NoSignature, error.Reason);
    }

    [Fact]
    public void Verify_GpgRequiredWithEmptyKeyring_ThrowsUnknownKey()
    {
        var error = Assert.Throws<SignatureVerificationException>(() =>
            CommitSignatures.Verify(Checksum.Parse(Commit2), Fx.CommitBytes(Commit2), Fx.CommitMeta(Commit2), new SignaturePolicy(GpgKeyring.Empty)));

        Assert.Equal(SignatureFailure.UnknownKey, error.Reason);
    }
}
