using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Ostree.Tests.Signing;

/// <summary>summary.sig as written by the real <c>ostree summary -u --gpg-sign</c>.</summary>
public class SummarySignaturesTests
{
    private static SignedFixture Fx => SignedFixture.Instance;

    private static byte[] Summary => File.ReadAllBytes(Path.Combine(Fx.Repo, "summary"));

    private static VariantDictionary SummarySig => VariantDictionary.Parse(File.ReadAllBytes(Path.Combine(Fx.Repo, "summary.sig")));

    private static SignaturePolicy RsaPolicy => new(GpgKeyring.Parse(Fx.Home.Export(Fx.RsaKey)));

    [Fact]
    public void Verify_SummarySignedByOstree_IsAccepted()
    {
        var report = SummarySignatures.Verify(Summary, SummarySig, RsaPolicy);

        Assert.Equal(Fx.RsaKey, report.Gpg!.RequireValidSignature("summary").Fingerprint);
    }

    [Fact]
    public void Verify_SummaryByteChanged_ThrowsBadSignature()
    {
        var summary = Summary;
        summary[3] ^= 0x01;

        var error = Assert.Throws<SignatureVerificationException>(() => SummarySignatures.Verify(summary, SummarySig, RsaPolicy));

        Assert.Equal($"summary: GPG signature by key 0x{SignedFixture.KeyId(Fx.RsaKey)} is BAD (data or signature was modified)", error.Message);
        Assert.Equal(SignatureFailure.BadSignature, error.Reason);
    }

    [Fact]
    public void Verify_NoSummarySig_ThrowsNoSignaturesFound()
    {
        var error = Assert.Throws<SignatureVerificationException>(() => SummarySignatures.Verify(Summary, null, RsaPolicy));

        Assert.Equal("summary: GPG verification enabled, but no signatures found", error.Message);
    }

    [Fact]
    public void Verify_Ed25519SignedSummary_IsAccepted()
    {
        // ostree 2022.7 here cannot sign summaries with ed25519; the layout is the same a{sv}.
        var key = Ed25519SecretKey.Generate();
        var sig = SummarySig;
        Ed25519Signatures.Sign(sig, Summary, key);

        var report = SummarySignatures.Verify(Summary, sig, new SignaturePolicy(RsaPolicy.GpgKeyring, [key.PublicKey]));

        Assert.True(report.Gpg!.IsValid);
        Assert.True(report.Ed25519!.IsValid);
    }
}
