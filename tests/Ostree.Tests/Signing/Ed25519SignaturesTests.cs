using System.Text.RegularExpressions;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Ostree.Tests.Signing;

/// <summary>
/// ed25519 signing and verification of commits. Debian 12's ostree 2022.7 is built without
/// ed25519 ("Requested signature type is not implemented"), so no ostree can sign or verify
/// here; the oracles are the RFC 8032 vectors (see Ed25519SecretKeyTests), OpenSSL (which
/// newer ostree uses for ed25519) for the signatures, and the real ostree for reading the
/// <c>.commitmeta</c> we write.
/// </summary>
public class Ed25519SignaturesTests
{
    private static string Commit1 => Fixtures.SmallRepo.Commit1;

    private static byte[] CommitBytes => File.ReadAllBytes(SignedFixture.ObjectPath(Fixtures.SmallRepo.ArchiveRepo, Commit1, "commit"));

    /// <summary>The unsigned fixture's detached metadata of commit 1: just <c>fixture.note</c>.</summary>
    private static VariantDictionary CommitMeta() =>
        VariantDictionary.Parse(File.ReadAllBytes(SignedFixture.ObjectPath(Fixtures.SmallRepo.ArchiveRepo, Commit1, "commitmeta")));

    [Fact]
    public void Sign_ThenVerify_IsValidWithTheSigningKey()
    {
        var key = Ed25519SecretKey.Generate();
        var meta = CommitMeta();

        var signature = Ed25519Signatures.Sign(meta, CommitBytes, key);
        var result = Ed25519Signatures.Verify(CommitBytes, meta, [key.PublicKey]);

        Assert.Equal(Ed25519Signatures.SignatureLength, signature.Length);
        Assert.True(result.IsValid);
        Assert.Equal(0, result.ValidIndex);
        Assert.Equal(key.PublicKey, result.RequireValidSignature("commit"));
    }

    [Fact]
    public void Verify_UntrustedKey_IsRejected()
    {
        var meta = CommitMeta();
        Ed25519Signatures.Sign(meta, CommitBytes, Ed25519SecretKey.Generate());

        var result = Ed25519Signatures.Verify(CommitBytes, meta, [Ed25519SecretKey.Generate().PublicKey]);

        Assert.False(result.IsValid);
        var error = Assert.Throws<SignatureVerificationException>(() => result.RequireValidSignature("commit a8cbbee65f7b…"));
        Assert.Equal("commit a8cbbee65f7b…: no valid ed25519 signature (1 signature, none verifies with the trusted key)", error.Message);
        Assert.Equal(SignatureFailure.BadSignature, error.Reason);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(75)]
    [InlineData(149)]
    public void Verify_CommitByteChanged_IsRejected(int offset)
    {
        var key = Ed25519SecretKey.Generate();
        var meta = CommitMeta();
        Ed25519Signatures.Sign(meta, CommitBytes, key);
        var tampered = CommitBytes;
        tampered[offset] ^= 0x01;

        Assert.False(Ed25519Signatures.Verify(tampered, meta, [key.PublicKey]).IsValid);
    }

    [Fact]
    public void Verify_AnySignatureByteFlipped_IsRejected()
    {
        var key = Ed25519SecretKey.Generate();
        var data = CommitBytes;
        var signature = key.Sign(data);

        for (var i = 0; i < signature.Length; i++)
        {
            var tampered = (byte[])signature.Clone();
            tampered[i] ^= 0x01;

            Assert.False(Ed25519Signatures.Verify(data, [tampered], [key.PublicKey]).IsValid, $"byte {i}");
        }

        Assert.True(Ed25519Signatures.Verify(data, [signature], [key.PublicKey]).IsValid);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(65)]
    public void Verify_SignatureOfWrongLength_ReportsMalformed(int length)
    {
        var key = Ed25519SecretKey.Generate();

        var result = Ed25519Signatures.Verify(CommitBytes, [new byte[length]], [key.PublicKey]);

        var error = Assert.Throws<SignatureVerificationException>(() => result.RequireValidSignature("commit"));
        Assert.Equal(SignatureFailure.Malformed, error.Reason);
        Assert.Equal($"commit: no valid ed25519 signature (1 signature, none verifies with the trusted key; signature #0 is {length} bytes, expected 64)", error.Message);
    }

    [Fact]
    public void Verify_ValidSignatureAfterMalformedOne_IsValid()
    {
        var key = Ed25519SecretKey.Generate();
        var data = CommitBytes;

        var result = Ed25519Signatures.Verify(data, [new byte[10], key.Sign(data)], [Ed25519SecretKey.Generate().PublicKey, key.PublicKey]);

        Assert.True(result.IsValid);
        Assert.Equal(1, result.ValidIndex);
        Assert.Equal(key.PublicKey, result.ValidKey);
        Assert.Single(result.Malformed);
    }

    [Fact]
    public void Verify_UnsignedCommit_RequireReportsNoSignatures()
    {
        foreach (var meta in new[] { CommitMeta(), null })
        {
            var result = Ed25519Signatures.Verify(CommitBytes, meta, [Ed25519SecretKey.Generate().PublicKey]);

            var error = Assert.Throws<SignatureVerificationException>(() => result.RequireValidSignature("commit a8cbbee65f7b…"));
            Assert.Equal("commit a8cbbee65f7b…: ed25519 verification enabled, but no signatures found", error.Message);
            Assert.Equal(SignatureFailure.NoSignature, error.Reason);
        }
    }

    [Fact]
    public void Verify_NoTrustedKeys_RequireReportsConfigurationProblem()
    {
        var meta = CommitMeta();
        Ed25519Signatures.Sign(meta, CommitBytes, Ed25519SecretKey.Generate());

        var result = Ed25519Signatures.Verify(CommitBytes, meta, []);

        var error = Assert.Throws<SignatureVerificationException>(() => result.RequireValidSignature("commit"));
        Assert.Equal(SignatureFailure.NoTrustedKeys, error.Reason);
    }

    [Fact]
    public void Sign_Twice_AppendsAndKeepsOtherEntriesAndOrder()
    {
        var first = Ed25519SecretKey.Generate();
        var second = Ed25519SecretKey.Generate();
        var meta = CommitMeta();
        var data = CommitBytes;

        var s1 = Ed25519Signatures.Sign(meta, data, first);
        meta.Set("zz.after", Variant.FromString("later entry"));
        var s2 = Ed25519Signatures.Sign(meta, data, second);

        Assert.Equal(["fixture.note", SignatureMetadata.Ed25519Key, "zz.after"], meta.Entries.Select(e => e.Key));
        Assert.Equal([s1, s2], SignatureMetadata.GetSignatures(meta, SignatureMetadata.Ed25519Key));
        Assert.Equal(0, Ed25519Signatures.Verify(data, meta, [first.PublicKey]).ValidIndex);
        Assert.Equal(1, Ed25519Signatures.Verify(data, meta, [second.PublicKey]).ValidIndex);
    }

    [Fact]
    public void Sign_ResultingCommitmeta_ReparsesInNormalForm()
    {
        var meta = CommitMeta();
        Ed25519Signatures.Sign(meta, CommitBytes, Ed25519SecretKey.Generate());
        Ed25519Signatures.Sign(meta, CommitBytes, Ed25519SecretKey.Generate());

        var bytes = meta.Serialize();
        var reparsed = VariantDictionary.Parse(bytes);

        Assert.Equal(bytes, reparsed.Serialize());
        Assert.Equal(meta.Entries.Select(e => e.Key), reparsed.Entries.Select(e => e.Key));
        Assert.Equal(SignatureMetadata.GetSignatures(meta, SignatureMetadata.Ed25519Key), SignatureMetadata.GetSignatures(reparsed, SignatureMetadata.Ed25519Key));
        Assert.Equal("detached-hello", reparsed.GetString("fixture.note"));
    }

    [Fact]
    public void Sign_CommitmetaInRepo_RealOstreeReadsOurSignatures()
    {
        var key = Ed25519SecretKey.Generate();
        var repo = Path.Combine(Fixtures.TempDirectory("ed25519-repo"), "repo");
        Peer.Ostree(repo, "init", "--mode=archive");
        var commitPath = SignedFixture.ObjectPath(repo, Commit1, "commit");
        Directory.CreateDirectory(Path.GetDirectoryName(commitPath)!);
        File.WriteAllBytes(commitPath, CommitBytes);
        var meta = CommitMeta();
        var s1 = Ed25519Signatures.Sign(meta, CommitBytes, key);
        var s2 = Ed25519Signatures.Sign(meta, CommitBytes, Ed25519SecretKey.Generate());
        File.WriteAllBytes(SignedFixture.ObjectPath(repo, Commit1, "commitmeta"), meta.Serialize());

        var printed = Peer.Ostree(repo, "show", $"--print-detached-metadata-key={SignatureMetadata.Ed25519Key}", Commit1);
        var note = Peer.Ostree(repo, "show", "--print-detached-metadata-key=fixture.note", Commit1);

        // g_variant_print writes each ay as [byte 0x.., 0x.., …], or, when the bytes end
        // with a NUL (1 in 256 signatures), as a bytestring b'…' (or b"…") with C escapes and the
        // final NUL dropped.
        var arrays = Regex.Matches(printed, @"\[(?:byte )?((?:0x[0-9a-f]{2}(?:, )?)+)\]|b(?<q>['""])(?<body>(?:(?!\k<q>)[^\\]|\\.)*)\k<q>")
            .Select(m => m.Groups[1].Success
                ? Convert.FromHexString(m.Groups[1].Value.Replace("0x", "", StringComparison.Ordinal).Replace(", ", "", StringComparison.Ordinal))
                : UnescapeByteString(m.Groups["body"].Value))
            .ToArray();
        Assert.True(arrays.Length == 2, printed);
        Assert.Equal([s1, s2], arrays);
        Assert.Equal("'detached-hello'", note.Trim());
        Directory.Delete(Path.GetDirectoryName(repo)!, recursive: true);
    }

    [Fact]
    public void Verify_SignatureMadeByOpenssl_IsValidAndOpensslVerifiesOurs()
    {
        // OpenSSL keeps the same 32-byte seed and public key; ostree's secret key is seed ‖ public.
        var dir = Fixtures.TempDirectory("openssl-ed25519");
        var pem = Path.Combine(dir, "key.pem");
        var data = Path.Combine(dir, "commit");
        File.WriteAllBytes(data, CommitBytes);
        Peer.Check("openssl", "genpkey", "-algorithm", "ed25519", "-out", pem);
        Peer.Check("openssl", "pkey", "-in", pem, "-outform", "DER", "-out", pem + ".der");
        Peer.Check("openssl", "pkey", "-in", pem, "-pubout", "-out", pem + ".pub");
        Peer.Check("openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER", "-out", pem + ".pub.der");
        Peer.Check("openssl", "pkeyutl", "-sign", "-rawin", "-inkey", pem, "-in", data, "-out", data + ".openssl.sig");

        // PKCS#8 and SubjectPublicKeyInfo DER for ed25519 end with the raw 32 bytes.
        var seed = File.ReadAllBytes(pem + ".der")[^32..];
        var publicKey = File.ReadAllBytes(pem + ".pub.der")[^32..];
        var key = Ed25519SecretKey.FromBytes([.. seed, .. publicKey]);
        File.WriteAllBytes(data + ".ours.sig", key.Sign(CommitBytes));

        Assert.True(Ed25519Signatures.Verify(CommitBytes, [File.ReadAllBytes(data + ".openssl.sig")], [Ed25519PublicKey.FromBytes(publicKey)]).IsValid);
        Assert.Equal(File.ReadAllBytes(data + ".openssl.sig"), File.ReadAllBytes(data + ".ours.sig"));
        Peer.Check("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem + ".pub", "-rawin", "-in", data, "-sigfile", data + ".ours.sig");
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Sign_ExistingEntryOfWrongType_ThrowsInvalidData()
    {
        var meta = new VariantDictionary([new(SignatureMetadata.Ed25519Key, Variant.FromBytes(new byte[64]))]);

        var error = Assert.Throws<InvalidDataException>(() => Ed25519Signatures.Sign(meta, CommitBytes, Ed25519SecretKey.Generate()));

        Assert.Equal("ostree.sign.ed25519: type 'ay', expected 'aay'", error.Message);
    }

    /// <summary>Decodes GLib's bytestring literal body (C escapes, octal \NNN) and restores the final NUL.</summary>
    private static byte[] UnescapeByteString(string body)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] != '\\')
            {
                bytes.Add((byte)body[i]);
                continue;
            }

            var c = body[++i];
            if (c is >= '0' and <= '7')
            {
                var end = i;
                while (end < body.Length && end < i + 3 && body[end] is >= '0' and <= '7')
                {
                    end++;
                }

                bytes.Add(Convert.ToByte(body[i..end], 8));
                i = end - 1;
                continue;
            }

            bytes.Add(c switch
            {
                'a' => 7,
                'b' => 8,
                'f' => 12,
                'n' => 10,
                'r' => 13,
                't' => 9,
                'v' => 11,
                _ => (byte)c,
            });
        }

        bytes.Add(0);
        return [.. bytes];
    }
}
