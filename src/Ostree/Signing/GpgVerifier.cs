using System.Buffers.Binary;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Security;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// Checks the OpenPGP signatures OSTree stores under <c>ostree.gpgsigs</c>: each element of
/// the <c>aay</c> is a binary detached signature over the exact bytes of the signed object
/// (the <c>.commit</c> file, or the <c>summary</c> file for <c>summary.sig</c>). Judges each
/// signature as gpg does when ostree calls it through gpgme: the key must be in the keyring,
/// the signature must match, and neither key nor signature may be expired or revoked.
/// Web-of-trust ownertrust plays no part, as in ostree.
/// </summary>
public sealed class GpgVerifier
{
    // RFC 9580 §9.5; MD5 is refused as gpg has refused it since 2.1. SHA-1 is still
    // accepted for data signatures, as gpg 2.2 accepts it.
    private static readonly HashSet<HashAlgorithmTag> AcceptedHashes =
    [
        HashAlgorithmTag.Sha1, HashAlgorithmTag.Sha224, HashAlgorithmTag.Sha256, HashAlgorithmTag.Sha384,
        HashAlgorithmTag.Sha512, HashAlgorithmTag.Sha3_256, HashAlgorithmTag.Sha3_512,
    ];

    // Subpackets whose meaning for a document signature is handled here or harmless to
    // ignore; any other subpacket marked critical makes the signature unusable.
    private static readonly HashSet<SignatureSubpacketTag> UnderstoodSubpackets =
    [
        SignatureSubpacketTag.CreationTime, SignatureSubpacketTag.ExpireTime, SignatureSubpacketTag.Exportable,
        SignatureSubpacketTag.Revocable, SignatureSubpacketTag.KeyExpireTime, SignatureSubpacketTag.IssuerKeyId,
        SignatureSubpacketTag.KeyFlags, SignatureSubpacketTag.SignerUserId, SignatureSubpacketTag.IssuerFingerprint,
    ];

    private readonly TimeProvider _time;

    /// <summary>A verifier trusting the keys of <paramref name="keyring"/>.</summary>
    /// <param name="timeProvider">The clock expiry is judged against; the system clock by default.</param>
    public GpgVerifier(GpgKeyring keyring, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(keyring);
        Keyring = keyring;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The trusted keys.</summary>
    public GpgKeyring Keyring { get; }

    /// <summary>
    /// Verifies the <c>ostree.gpgsigs</c> entry of a commit's detached metadata (over the
    /// <c>.commit</c> bytes) or of <c>summary.sig</c> (over the <c>summary</c> bytes).
    /// </summary>
    /// <param name="signedData">The exact bytes that were signed.</param>
    /// <param name="signatureMetadata">The <c>a{sv}</c> holding the signatures; null or without the entry means unsigned.</param>
    /// <exception cref="InvalidDataException">The entry exists but is not an <c>aay</c>.</exception>
    public GpgVerificationResult Verify(ReadOnlySpan<byte> signedData, VariantDictionary? signatureMetadata) =>
        Verify(signedData, SignatureMetadata.GetSignatures(signatureMetadata, SignatureMetadata.GpgKey));

    /// <summary>Verifies binary detached OpenPGP signatures over <paramref name="signedData"/>.</summary>
    /// <remarks>
    /// Never throws for bad signatures: an unreadable element is reported as
    /// <see cref="GpgSignatureStatus.Malformed"/>. An element holding several signature
    /// packets yields one result per packet, all with the element's index.
    /// </remarks>
    public GpgVerificationResult Verify(ReadOnlySpan<byte> signedData, IReadOnlyList<byte[]> signatures)
    {
        ArgumentNullException.ThrowIfNull(signatures);
        var now = _time.GetUtcNow();
        var results = new List<GpgSignature>(signatures.Count);
        for (var i = 0; i < signatures.Count; i++)
        {
            var packets = ReadSignatures(signatures[i], out var error);
            if (error is not null)
            {
                results.Add(new GpgSignature(i, GpgSignatureStatus.Malformed, "", null, null, null, null, null, null, error));
                continue;
            }

            foreach (var packet in packets)
            {
                results.Add(Check(i, packet, signedData, now));
            }
        }

        return new GpgVerificationResult(results);
    }

    /// <summary>
    /// Exceptions BouncyCastle raises for malformed packets. Anything else (out of memory,
    /// a bug of ours) must not be mistaken for bad data.
    /// </summary>
    internal static bool IsParseFailure(Exception e) =>
        e is IOException or PgpException or ArgumentException or InvalidOperationException or FormatException
            or IndexOutOfRangeException or InvalidCastException or OverflowException or NotSupportedException
            or GeneralSecurityException or Org.BouncyCastle.Crypto.CryptoException;

    private static List<PgpSignature> ReadSignatures(byte[] blob, out string? error)
    {
        var packets = new List<PgpSignature>();
        error = null;
        try
        {
            var factory = new PgpObjectFactory(blob);
            while (factory.NextPgpObject() is { } item)
            {
                switch (item)
                {
                    case PgpSignatureList list:
                        for (var j = 0; j < list.Count; j++)
                        {
                            packets.Add(list[j]);
                        }

                        break;
                    case PgpMarker:
                        break;
                    default:
                        error = $"holds a {item.GetType().Name} packet, not a detached signature";
                        return packets;
                }
            }
        }
        catch (Exception e) when (IsParseFailure(e))
        {
            error = $"not an OpenPGP signature: {e.Message}";
            return packets;
        }

        if (packets.Count == 0)
        {
            error = "no signature packet";
        }

        return packets;
    }

    private GpgSignature Check(int index, PgpSignature signature, ReadOnlySpan<byte> data, DateTimeOffset now)
    {
        var fingerprint = IssuerFingerprint(signature);
        var keyId = signature.KeyId;
        if (keyId == 0 && fingerprint is { Length: 20 or 32 })
        {
            // Only for display (lookup goes by fingerprint): a v4 key id is the low 64 bits
            // of the fingerprint, a v6 key id the high 64 bits (RFC 9580 §5.5.4).
            keyId = BinaryPrimitives.ReadInt64BigEndian(fingerprint.Length == 20 ? fingerprint.AsSpan(12) : fingerprint);
        }

        var basic = new GpgSignature(
            index,
            GpgSignatureStatus.UnknownKey,
            ((ulong)keyId).ToString("X16", System.Globalization.CultureInfo.InvariantCulture),
            fingerprint is null ? null : Convert.ToHexString(fingerprint),
            null,
            null,
            new DateTimeOffset(DateTime.SpecifyKind(signature.CreationTime, DateTimeKind.Utc)),
            null,
            DigestName(signature.HashAlgorithm),
            null);

        if (signature.SignatureType is not (PgpSignature.BinaryDocument or PgpSignature.CanonicalTextDocument))
        {
            return basic with { Status = GpgSignatureStatus.Malformed, Detail = $"signature type 0x{signature.SignatureType:X2} is not a document signature" };
        }

        if (!AcceptedHashes.Contains(signature.HashAlgorithm))
        {
            return basic with { Status = GpgSignatureStatus.Malformed, Detail = $"hash algorithm {basic.HashAlgorithm} is not accepted" };
        }

        if (UnknownCriticalSubpacket(signature) is { } critical)
        {
            return basic with { Status = GpgSignatureStatus.Malformed, Detail = $"unknown critical subpacket {(int)critical}" };
        }

        GpgSignature? best = null;
        foreach (var (ring, key) in Keyring.Find(keyId, fingerprint))
        {
            var primary = ring.GetPublicKey();
            var candidate = basic with
            {
                Fingerprint = GpgKeyring.FormatFingerprint(key),
                PrimaryKeyFingerprint = GpgKeyring.FormatFingerprint(primary),
                UserId = primary.GetUserIds().FirstOrDefault(),
            };
            candidate = CheckWithKey(candidate, signature, primary, key, data, now);
            if (best is null || Rank(candidate.Status) < Rank(best.Status))
            {
                best = candidate;
            }
        }

        return best ?? basic;
    }

    private static GpgSignature CheckWithKey(GpgSignature result, PgpSignature signature, PgpPublicKey primary, PgpPublicKey key, ReadOnlySpan<byte> data, DateTimeOffset now)
    {
        try
        {
            signature.InitVerify(key);
            signature.Update(data);
            if (!signature.Verify())
            {
                return result with { Status = GpgSignatureStatus.BadSignature, Detail = "data or signature was modified" };
            }
        }
        catch (Exception e) when (IsParseFailure(e))
        {
            return result with { Status = GpgSignatureStatus.Malformed, Detail = $"cannot check a {key.Algorithm} signature: {e.Message}" };
        }

        var isSubkey = key.KeyId != primary.KeyId;
        if (isSubkey)
        {
            // gpg ignores subkeys without a valid binding and rejects signatures by signing
            // subkeys that do not certify their primary back (the 0x19 "back-signature"),
            // which stops an attacker from attaching someone else's subkey to their key.
            var binding = VerifiedBinding(primary, key);
            if (binding is null)
            {
                return result with { Status = GpgSignatureStatus.UnknownKey, Detail = "subkey is not validly bound to its primary key" };
            }

            if (!IsCrossCertified(binding, primary, key))
            {
                return result with { Status = GpgSignatureStatus.BadSignature, Detail = "signing subkey is not cross-certified" };
            }
        }

        if (IsRevoked(primary, primary) || (isSubkey && IsRevoked(primary, key)))
        {
            return result with { Status = GpgSignatureStatus.RevokedKey, Detail = "key revoked" };
        }

        var expires = Expiry(primary, primary.GetValidSeconds());
        if (isSubkey && Expiry(key, key.GetValidSeconds(primary)) is { } subkeyExpires && (expires is null || subkeyExpires < expires))
        {
            expires = subkeyExpires;
        }

        result = result with { KeyExpires = expires };
        if (expires <= now)
        {
            return result with { Status = GpgSignatureStatus.ExpiredKey, Detail = $"key expired on {GpgSignature.FormatTime(expires)}" };
        }

        var validSeconds = signature.GetHashedSubPackets()?.GetSignatureExpirationTime() ?? 0;
        if (validSeconds > 0 && result.Created!.Value.AddSeconds(validSeconds) <= now)
        {
            return result with { Status = GpgSignatureStatus.ExpiredSignature, Detail = $"signature expired on {GpgSignature.FormatTime(result.Created.Value.AddSeconds(validSeconds))}" };
        }

        return result with { Status = GpgSignatureStatus.Valid };
    }

    private static PgpSignature? VerifiedBinding(PgpPublicKey primary, PgpPublicKey subkey)
    {
        foreach (var binding in subkey.GetSignaturesOfType(PgpSignature.SubkeyBinding))
        {
            if (Verifies(binding, primary, s => s.VerifyCertification(primary, subkey)))
            {
                return binding;
            }
        }

        return null;
    }

    private static bool IsCrossCertified(PgpSignature binding, PgpPublicKey primary, PgpPublicKey subkey)
    {
        // gpg puts the back-signature in the unhashed area: it is signed by the subkey, so
        // it authenticates itself and needs no protection from the binding signature.
        foreach (var area in new[] { binding.GetHashedSubPackets(), binding.GetUnhashedSubPackets() })
        {
            var embedded = area?.GetEmbeddedSignatures();
            for (var i = 0; embedded is not null && i < embedded.Count; i++)
            {
                var back = embedded[i];
                if (back.SignatureType == PgpSignature.PrimaryKeyBinding && Verifies(back, subkey, s => s.VerifyCertification(primary, subkey)))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The first subpacket marked critical that this verifier does not act on, if any.</summary>
    private static SignatureSubpacketTag? UnknownCriticalSubpacket(PgpSignature signature)
    {
        // RFC 9580 §5.2.3.7: a signature with a critical subpacket the evaluator does not
        // understand is in error. gpg applies this to both areas, and so do we.
        foreach (var area in new[] { signature.GetHashedSubPackets(), signature.GetUnhashedSubPackets() })
        {
            foreach (var tag in area?.GetCriticalTags() ?? [])
            {
                if (!UnderstoodSubpackets.Contains(tag))
                {
                    return tag;
                }
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="key"/> carries a revocation that its primary key really made.</summary>
    private static bool IsRevoked(PgpPublicKey primary, PgpPublicKey key)
    {
        // Revocations by designated third-party revokers are not honoured: checking them
        // needs the revoker's key, which a keyring of signing keys rarely holds.
        var isPrimary = key.KeyId == primary.KeyId;
        var type = isPrimary ? PgpSignature.KeyRevocation : PgpSignature.SubkeyRevocation;
        return key.GetSignaturesOfType(type).Any(r =>
            Verifies(r, primary, s => isPrimary ? s.VerifyCertification(key) : s.VerifyCertification(primary, key)));
    }

    private static bool Verifies(PgpSignature signature, PgpPublicKey signer, Func<PgpSignature, bool> verify)
    {
        try
        {
            signature.InitVerify(signer);
            return verify(signature);
        }
        catch (Exception e) when (IsParseFailure(e))
        {
            return false;
        }
    }

    private static DateTimeOffset? Expiry(PgpPublicKey key, long validSeconds) =>
        validSeconds <= 0 ? null : new DateTimeOffset(DateTime.SpecifyKind(key.CreationTime, DateTimeKind.Utc)).AddSeconds(validSeconds);

    private static byte[]? IssuerFingerprint(PgpSignature signature)
    {
        try
        {
            // The hashed copy is authenticated; the unhashed one is only a lookup hint, and a
            // wrong hint can only make the key "unknown", never make a signature valid.
            return (signature.GetHashedSubPackets()?.GetIssuerFingerprint()
                ?? signature.GetUnhashedSubPackets()?.GetIssuerFingerprint())?.GetFingerprint();
        }
        catch (Exception e) when (IsParseFailure(e))
        {
            return null;
        }
    }

    private static string DigestName(HashAlgorithmTag tag)
    {
        try
        {
            return PgpUtilities.GetDigestName(tag);
        }
        catch (Exception e) when (IsParseFailure(e))
        {
            return $"hash #{(int)tag}";
        }
    }

    // Lower is better: when several keys share a key id, report the most useful verdict.
    private static int Rank(GpgSignatureStatus status) => status switch
    {
        GpgSignatureStatus.Valid => 0,
        GpgSignatureStatus.ExpiredSignature or GpgSignatureStatus.ExpiredKey or GpgSignatureStatus.RevokedKey => 1,
        GpgSignatureStatus.BadSignature => 2,
        GpgSignatureStatus.UnknownKey => 3,
        _ => 4,
    };
}
