using Org.BouncyCastle.Crypto.Signers;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// ostree's ed25519 signatures (<c>ostree sign --sign-type=ed25519</c>): the
/// <c>ostree.sign.ed25519</c> entry of a commit's detached metadata or of
/// <c>summary.sig</c> is an <c>aay</c> of 64-byte detached signatures over the exact bytes
/// of the <c>.commit</c> (or <c>summary</c>) file. The data is accepted when any signature
/// verifies with any trusted key (ostree-sign-ed25519.c, <c>ostree_sign_ed25519_data_verify</c>).
/// </summary>
public static class Ed25519Signatures
{
    /// <summary>Bytes in a signature (libsodium <c>crypto_sign_BYTES</c>).</summary>
    public const int SignatureLength = 64;

    /// <summary>
    /// Signs <paramref name="signedData"/> and appends the signature to the
    /// <c>ostree.sign.ed25519</c> list of <paramref name="metadata"/>, keeping every other
    /// entry and its position. Signing is deterministic: the same key and data always give
    /// the same signature.
    /// </summary>
    /// <param name="metadata">The commit's detached metadata or the summary's signature dictionary; modified in place.</param>
    /// <returns>The new signature.</returns>
    /// <exception cref="InvalidDataException">An existing <c>ostree.sign.ed25519</c> entry is not an <c>aay</c>.</exception>
    public static byte[] Sign(VariantDictionary metadata, ReadOnlySpan<byte> signedData, Ed25519SecretKey key)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(key);
        var signature = key.Sign(signedData);
        SignatureMetadata.AppendSignature(metadata, SignatureMetadata.Ed25519Key, signature);
        return signature;
    }

    /// <summary>Verifies the <c>ostree.sign.ed25519</c> entry of <paramref name="metadata"/> over <paramref name="signedData"/>.</summary>
    /// <exception cref="InvalidDataException">The entry exists but is not an <c>aay</c>.</exception>
    public static Ed25519VerificationResult Verify(ReadOnlySpan<byte> signedData, VariantDictionary? metadata, IReadOnlyCollection<Ed25519PublicKey> trustedKeys) =>
        Verify(signedData, SignatureMetadata.GetSignatures(metadata, SignatureMetadata.Ed25519Key), trustedKeys);

    /// <summary>Verifies detached ed25519 signatures over <paramref name="signedData"/>.</summary>
    /// <remarks>
    /// A signature that is not 64 bytes is recorded as malformed and skipped. ostree 2022.7
    /// aborts on it instead, but only if it comes before a good one; skipping gives the same
    /// answer for every order.
    /// </remarks>
    public static Ed25519VerificationResult Verify(ReadOnlySpan<byte> signedData, IReadOnlyList<byte[]> signatures, IReadOnlyCollection<Ed25519PublicKey> trustedKeys)
    {
        ArgumentNullException.ThrowIfNull(signatures);
        ArgumentNullException.ThrowIfNull(trustedKeys);
        var malformed = new List<string>();
        var verifier = new Ed25519Signer();
        for (var i = 0; i < signatures.Count; i++)
        {
            var signature = signatures[i];
            if (signature.Length != SignatureLength)
            {
                malformed.Add($"signature #{i} is {signature.Length} bytes, expected {SignatureLength}");
                continue;
            }

            foreach (var key in trustedKeys)
            {
                verifier.Init(forSigning: false, key.Parameters);
                verifier.BlockUpdate(signedData);
                if (verifier.VerifySignature(signature))
                {
                    return new Ed25519VerificationResult(signatures.Count, malformed, trustedKeys.Count, key, i);
                }
            }
        }

        return new Ed25519VerificationResult(signatures.Count, malformed, trustedKeys.Count, null, -1);
    }
}
