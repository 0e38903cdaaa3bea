using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// Where OSTree keeps signatures (ostree-format.md §7, §9): in a commit's detached metadata
/// (<c>.commitmeta</c>) or in <c>summary.sig</c>, both <c>a{sv}</c>, under one key per
/// scheme. Each value is an <c>aay</c> list of detached signatures over the exact bytes of
/// the signed object; new signatures are appended.
/// </summary>
public static class SignatureMetadata
{
    /// <summary>Key of the OpenPGP signatures: binary (not armored) detached signatures.</summary>
    public const string GpgKey = "ostree.gpgsigs";

    /// <summary>Key of the ed25519 signatures: 64-byte detached signatures.</summary>
    public const string Ed25519Key = "ostree.sign.ed25519";

    /// <summary>
    /// The signatures stored under <paramref name="key"/>, in order; empty when
    /// <paramref name="metadata"/> is null or has no such entry.
    /// </summary>
    /// <exception cref="InvalidDataException">The entry exists but is not an <c>aay</c>.</exception>
    public static IReadOnlyList<byte[]> GetSignatures(VariantDictionary? metadata, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (metadata is null || !metadata.TryGet(key, out var value))
        {
            return [];
        }

        // libostree looks the entry up with an expected type and treats a mismatch as absent;
        // we refuse instead, so a damaged entry is reported rather than silently ignored.
        if (value.Type.Signature != GVariantTypes.ByteArrayArray.Signature)
        {
            throw new InvalidDataException($"{key}: type '{value.Type.Signature}', expected 'aay'");
        }

        var items = (object[])value.Value;
        var signatures = new byte[items.Length][];
        for (var i = 0; i < items.Length; i++)
        {
            signatures[i] = (byte[])items[i];
        }

        return signatures;
    }

    /// <summary>
    /// Appends <paramref name="signature"/> to the list under <paramref name="key"/>. An
    /// existing list keeps its position among the other entries; a new one is added last.
    /// </summary>
    /// <exception cref="InvalidDataException">The entry exists but is not an <c>aay</c>.</exception>
    public static void AppendSignature(VariantDictionary metadata, string key, byte[] signature)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(signature);
        var existing = GetSignatures(metadata, key);
        var items = new object[existing.Count + 1];
        for (var i = 0; i < existing.Count; i++)
        {
            items[i] = existing[i];
        }

        items[^1] = signature;
        metadata.Set(key, new Variant(GVariantTypes.ByteArrayArray, items));
    }
}
