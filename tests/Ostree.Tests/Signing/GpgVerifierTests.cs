using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Ostree.Tests.Signing;

/// <summary>
/// Signatures made by the real <c>ostree gpg-sign</c>, <c>ostree summary --gpg-sign</c> and
/// <c>gpg --detach-sign</c>, judged by our verifier and, where gpg has an opinion, by
/// <c>gpg --verify</c> too.
/// </summary>
public class GpgVerifierTests
{
    private static SignedFixture Fx => SignedFixture.Instance;

    private static string Commit2 => Fixtures.SmallRepo.Commit2;

    private static GpgVerifier VerifierFor(params string[] keys) =>
        new(GpgKeyring.Combine(keys.Select(k => GpgKeyring.Parse(Fx.Home.Export(k)))));

    private static byte[] GpgSignatureOf(string commit) => SignatureMetadata.GetSignatures(Fx.CommitMeta(commit), SignatureMetadata.GpgKey).Single();

    [Fact]
    public void Verify_CommitSignedByOstreeWithBinaryKeyring_IsValid()
    {
        var data = Fx.CommitBytes(Commit2);

        var result = VerifierFor(Fx.RsaKey).Verify(data, Fx.CommitMeta(Commit2));

        var signature = Assert.Single(result.Signatures);
        Assert.Equal(GpgSignatureStatus.Valid, signature.Status);
        Assert.Equal(SignedFixture.KeyId(Fx.RsaKey), signature.KeyId);
        Assert.Equal(Fx.RsaKey, signature.Fingerprint);
        Assert.Equal(Fx.RsaKey, signature.PrimaryKeyFingerprint);
        Assert.Equal("Test Signer <signer@example.org>", signature.UserId);
        Assert.InRange(signature.Created!.Value, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(signature, result.RequireValidSignature("commit"));
        Assert.True(Fx.Home.GpgVerifies(GpgSignatureOf(Commit2), data));
    }

    [Fact]
    public void Verify_CommitSignedByOstreeWithArmoredKeyring_IsValid()
    {
        var armored = Fx.Home.Export(Fx.RsaKey, armor: true);
        Assert.StartsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----", System.Text.Encoding.ASCII.GetString(armored));

        var result = new GpgVerifier(GpgKeyring.Parse(armored)).Verify(Fx.CommitBytes(Commit2), Fx.CommitMeta(Commit2));

        Assert.True(result.IsValid);
        Assert.Equal(1, result.ValidCount);
    }

    [Fact]
    public void Verify_EdDsaKeyAmongOtherDetachedMetadata_IsValid()
    {
        // Commit 1 already had detached metadata (fixture.note); ostree gpg-sign added to it.
        var commit1 = Fixtures.SmallRepo.Commit1;
        var meta = Fx.CommitMeta(commit1);
        Assert.Equal("detached-hello", meta.GetString("fixture.note"));

        var signature = VerifierFor(Fx.EdDsaKey).Verify(Fx.CommitBytes(commit1), meta).RequireValidSignature("commit");

        Assert.Equal(Fx.EdDsaKey, signature.Fingerprint);
    }

    [Fact]
    public void Verify_SignatureBySigningSubkey_IsValidAndNamesPrimary()
    {
        var wide = Fixtures.SmallRepo.CommitWide;

        var signature = VerifierFor(Fx.SubkeyPrimary).Verify(Fx.CommitBytes(wide), Fx.CommitMeta(wide)).RequireValidSignature("commit");

        Assert.Equal(Fx.SigningSubkey, signature.Fingerprint);
        Assert.Equal(SignedFixture.KeyId(Fx.SigningSubkey), signature.KeyId);
        Assert.Equal(Fx.SubkeyPrimary, signature.PrimaryKeyFingerprint);
    }

    [Fact]
    public void Verify_UnrelatedKeyring_ReportsUnknownKey()
    {
        var data = Fx.CommitBytes(Commit2);

        var result = VerifierFor(Fx.OtherKey).Verify(data, Fx.CommitMeta(Commit2));

        Assert.False(result.IsValid);
        Assert.Equal(GpgSignatureStatus.UnknownKey, Assert.Single(result.Signatures).Status);
        var error = Assert.Throws<SignatureVerificationException>(() => result.RequireValidSignature("commit e81ef8725f52…"));
        Assert.Equal($"commit e81ef8725f52…: no valid GPG signature (1 signature by unknown key 0x{SignedFixture.KeyId(Fx.RsaKey)})", error.Message);
        Assert.Equal(SignatureFailure.UnknownKey, error.Reason);
    }

    [Fact]
    public void Verify_EmptyKeyring_ReportsUnknownKey()
    {
        var result = new GpgVerifier(GpgKeyring.Empty).Verify(Fx.CommitBytes(Commit2), Fx.CommitMeta(Commit2));

        Assert.Equal(GpgSignatureStatus.UnknownKey, Assert.Single(result.Signatures).Status);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(189)]
    public void Verify_OneCommitByteChanged_ReportsBadSignature(int offset)
    {
        var data = Fx.CommitBytes(Commit2);
        data[offset] ^= 0x01;

        var result = VerifierFor(Fx.RsaKey).Verify(data, Fx.CommitMeta(Commit2));

        Assert.Equal(GpgSignatureStatus.BadSignature, Assert.Single(result.Signatures).Status);
        var error = Assert.Throws<SignatureVerificationException>(() => result.RequireValidSignature("commit e81ef8725f52…"));
        Assert.Equal($"commit e81ef8725f52…: GPG signature by key 0x{SignedFixture.KeyId(Fx.RsaKey)} is BAD (data or signature was modified)", error.Message);
        Assert.Equal(SignatureFailure.BadSignature, error.Reason);
        Assert.False(Fx.Home.GpgVerifies(GpgSignatureOf(Commit2), data));
    }

    [Fact]
    public void Verify_ByteInSignatureValueFlipped_ReportsBadSignature()
    {
        // The packet ends with the RSA signature value; its last byte is pure signature.
        var signature = GpgSignatureOf(Commit2);
        signature[^1] ^= 0x40;
        var data = Fx.CommitBytes(Commit2);

        var result = VerifierFor(Fx.RsaKey).Verify(data, [signature]);

        Assert.Equal(GpgSignatureStatus.BadSignature, Assert.Single(result.Signatures).Status);
        Assert.False(Fx.Home.GpgVerifies(signature, data));
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("eddsa")]
    public void Verify_SignatureByteFlipped_NeverThrowsAndOnlyValidWhereGpgAgrees(string key)
    {
        // Flipping a byte of the unhashed subpacket area (e.g. the issuer hint) may leave a
        // signature that still verifies; gpg is the judge of whether that is right. For RSA
        // only the structured head and the last bytes are flipped: the middle is signature
        // value, and BouncyCastle re-validates the RSA modulus on every check (~0.1 s).
        var commit = key == "rsa" ? Commit2 : Fixtures.SmallRepo.Commit1;
        var original = GpgSignatureOf(commit);
        var data = Fx.CommitBytes(commit);
        var verifier = VerifierFor(key == "rsa" ? Fx.RsaKey : Fx.EdDsaKey);
        var offsets = Enumerable.Range(0, original.Length);
        if (key == "rsa")
        {
            offsets = offsets.Where(i => i < 64 || i >= original.Length - 4);
        }

        var stillValid = 0;
        foreach (var i in offsets)
        {
            var signature = (byte[])original.Clone();
            signature[i] ^= 0xFF;

            var result = verifier.Verify(data, [signature]);

            if (result.IsValid)
            {
                stillValid++;
                Assert.True(Fx.Home.GpgVerifies(signature, data), $"byte {i}: we accept what gpg rejects");
            }
        }

        Assert.True(stillValid < 16, $"{stillValid} corrupted signatures still valid");
    }

    [Fact]
    public void Verify_UnsignedCommit_RequireReportsNoSignatures()
    {
        // The unsigned fixture's commit 1 has detached metadata, just no signatures.
        var fx = Fixtures.SmallRepo;
        var meta = VariantDictionary.Parse(File.ReadAllBytes(SignedFixture.ObjectPath(fx.ArchiveRepo, fx.Commit1, "commitmeta")));
        var verifier = VerifierFor(Fx.RsaKey);
        var data = File.ReadAllBytes(SignedFixture.ObjectPath(fx.ArchiveRepo, fx.Commit1, "commit"));

        foreach (var result in new[] { verifier.Verify(data, meta), verifier.Verify(data, (VariantDictionary?)null) })
        {
            Assert.Empty(result.Signatures);
            var error = Assert.Throws<SignatureVerificationException>(() => result.RequireValidSignature("commit a8cbbee65f7b…"));
            Assert.Equal("commit a8cbbee65f7b…: GPG verification enabled, but no signatures found", error.Message);
            Assert.Equal(SignatureFailure.NoSignature, error.Reason);
        }
    }

    [Fact]
    public void Verify_SummarySignedByOstree_IsValid()
    {
        var summary = File.ReadAllBytes(Path.Combine(Fx.Repo, "summary"));
        var sig = VariantDictionary.Parse(File.ReadAllBytes(Path.Combine(Fx.Repo, "summary.sig")));

        var signature = VerifierFor(Fx.RsaKey).Verify(summary, sig).RequireValidSignature("summary");

        Assert.Equal(Fx.RsaKey, signature.Fingerprint);
    }

    [Fact]
    public void Verify_SummaryByteChanged_ReportsBadSignature()
    {
        var summary = File.ReadAllBytes(Path.Combine(Fx.Repo, "summary"));
        var sig = VariantDictionary.Parse(File.ReadAllBytes(Path.Combine(Fx.Repo, "summary.sig")));
        summary[summary.Length / 2] ^= 0x20;

        var result = VerifierFor(Fx.RsaKey).Verify(summary, sig);

        Assert.Equal(GpgSignatureStatus.BadSignature, Assert.Single(result.Signatures).Status);
        Assert.False(Fx.Home.GpgVerifies(SignatureMetadata.GetSignatures(sig, SignatureMetadata.GpgKey)[0], summary));
    }

    [Theory]
    [InlineData("SHA1", "SHA1")]
    [InlineData("SHA256", "SHA256")]
    [InlineData("SHA512", "SHA512")]
    public void Verify_GpgDetachedSignatureWithDigest_IsValid(string gpgDigest, string expected)
    {
        var data = Fx.CommitBytes(Commit2);
        var signature = Fx.Home.DetachSign(Fx.RsaKey, data, gpgDigest);

        var result = VerifierFor(Fx.RsaKey).Verify(data, [signature]);

        var verdict = Assert.Single(result.Signatures);
        Assert.Equal(GpgSignatureStatus.Valid, verdict.Status);
        Assert.Equal(expected, verdict.HashAlgorithm);
    }

    [Fact]
    public void Verify_KeyPastItsExpiry_ReportsExpiredKey()
    {
        var data = Fx.CommitBytes(Commit2);
        var signature = Fx.Home.DetachSign(Fx.ExpiringKey, data);
        var keyring = GpgKeyring.Parse(Fx.Home.Export(Fx.ExpiringKey));
        var later = new FixedTimeProvider(DateTimeOffset.UtcNow.AddDays(2));

        var now = new GpgVerifier(keyring).Verify(data, [signature]);
        var afterExpiry = new GpgVerifier(keyring, later).Verify(data, [signature]);

        Assert.True(now.IsValid);
        var verdict = Assert.Single(afterExpiry.Signatures);
        Assert.Equal(GpgSignatureStatus.ExpiredKey, verdict.Status);
        Assert.InRange(verdict.KeyExpires!.Value, DateTimeOffset.UtcNow.AddHours(23), DateTimeOffset.UtcNow.AddHours(25));
        var error = Assert.Throws<SignatureVerificationException>(() => afterExpiry.RequireValidSignature("commit"));
        Assert.Equal(SignatureFailure.ExpiredKey, error.Reason);
        Assert.Contains("which expired on", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_RevokedKey_ReportsRevokedKey()
    {
        using var home = new GpgTestHome();
        var key = home.GenerateKey("Revoked <revoked@example.org>", "ed25519", "sign");
        var data = Fx.CommitBytes(Commit2);
        var signature = home.DetachSign(key, data);
        var before = GpgKeyring.Parse(home.Export(key));

        // gpg stores a revocation certificate at key generation, with a ':' guarding the armor.
        var certificate = File.ReadAllText(Path.Combine(home.Directory, "openpgp-revocs.d", key + ".rev")).Replace(":-----BEGIN", "-----BEGIN", StringComparison.Ordinal);
        var certificateFile = Path.Combine(home.Directory, "revoke.asc");
        File.WriteAllText(certificateFile, certificate);
        home.Gpg("--import", certificateFile);
        var after = GpgKeyring.Parse(home.Export(key));

        Assert.True(new GpgVerifier(before).Verify(data, [signature]).IsValid);
        var result = new GpgVerifier(after).Verify(data, [signature]);
        Assert.Equal(GpgSignatureStatus.RevokedKey, Assert.Single(result.Signatures).Status);
        var error = Assert.Throws<SignatureVerificationException>(() => result.RequireValidSignature("commit"));
        Assert.Equal(SignatureFailure.RevokedKey, error.Reason);
        Assert.Contains("revoked", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x00, 0x01, 0x02 })]
    [InlineData(new byte[] { 0x88, 0x05, 0x00, 0x00 })]
    public void Verify_UnreadableSignature_ReportsMalformed(byte[] garbage)
    {
        var result = VerifierFor(Fx.RsaKey).Verify(Fx.CommitBytes(Commit2), [garbage]);

        Assert.Equal(GpgSignatureStatus.Malformed, Assert.Single(result.Signatures).Status);
        var error = Assert.Throws<SignatureVerificationException>(() => result.RequireValidSignature("commit"));
        Assert.Equal(SignatureFailure.Malformed, error.Reason);
    }

    [Fact]
    public void Verify_ArmoredSignatureElement_ReportsMalformed()
    {
        // ostree stores binary signatures; gpgme would not read armor inside the binary stream either.
        var data = Fx.CommitBytes(Commit2);
        var input = Path.Combine(Fx.Home.Directory, $"armored-{Guid.NewGuid():N}");
        File.WriteAllBytes(input, data);
        Fx.Home.Gpg("--armor", "--local-user", Fx.RsaKey, "--output", input + ".asc", "--detach-sign", input);
        var armored = File.ReadAllBytes(input + ".asc");

        var result = VerifierFor(Fx.RsaKey).Verify(data, [armored]);

        Assert.Equal(GpgSignatureStatus.Malformed, Assert.Single(result.Signatures).Status);
    }

    [Fact]
    public void Verify_OneValidAmongInvalid_IsValid()
    {
        var data = Fx.CommitBytes(Commit2);
        var byOther = Fx.Home.DetachSign(Fx.OtherKey, data);
        var good = GpgSignatureOf(Commit2);

        var result = VerifierFor(Fx.RsaKey).Verify(data, [[0x01, 0x02], byOther, good]);

        Assert.Equal(
            [GpgSignatureStatus.Malformed, GpgSignatureStatus.UnknownKey, GpgSignatureStatus.Valid],
            result.Signatures.Select(s => s.Status));
        Assert.Equal([0, 1, 2], result.Signatures.Select(s => s.Index));
        Assert.Equal(2, result.RequireValidSignature("commit").Index);
    }

    [Fact]
    public void RequireValidSignature_SeveralInvalid_DescribesEachAndUsesLastReason()
    {
        var data = Fx.CommitBytes(Commit2);
        var byOther = Fx.Home.DetachSign(Fx.OtherKey, data);
        var bad = GpgSignatureOf(Commit2);
        bad[^1] ^= 0x01;

        var result = VerifierFor(Fx.RsaKey).Verify(data, [byOther, bad]);

        var error = Assert.Throws<SignatureVerificationException>(() => result.RequireValidSignature("commit e81ef8725f52…"));
        Assert.Equal(
            $"commit e81ef8725f52…: no valid GPG signature (2 signatures: by unknown key 0x{SignedFixture.KeyId(Fx.OtherKey)}; "
            + $"by key 0x{SignedFixture.KeyId(Fx.RsaKey)}, BAD (data or signature was modified))",
            error.Message);
        Assert.Equal(SignatureFailure.BadSignature, error.Reason);
    }

    [Fact]
    public void Verify_SignaturesEntryOfWrongType_ThrowsInvalidData()
    {
        var meta = new VariantDictionary([new(SignatureMetadata.GpgKey, Variant.FromString("not signatures"))]);

        var error = Assert.Throws<InvalidDataException>(() => VerifierFor(Fx.RsaKey).Verify(Fx.CommitBytes(Commit2), meta));

        Assert.Equal("ostree.gpgsigs: type 's', expected 'aay'", error.Message);
    }
}
