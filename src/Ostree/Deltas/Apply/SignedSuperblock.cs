using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Deltas.Apply;

/// <summary>
/// The wrapper <c>static-delta generate --sign</c> writes around a superblock
/// (ostree-format.md §8.7): <c>(taya{sv})</c> = magic "OSTSGNDT" (a big-endian
/// <c>t</c>), the superblock bytes, and signatures keyed like detached metadata
/// (<c>ostree.sign.ed25519</c>: <c>aay</c>) over exactly those bytes.
/// </summary>
internal static class SignedSuperblock
{
    private static readonly GVariantType Format = GVariantType.Parse("(taya{sv})");
    private static readonly string[] Fields = ["magic", "superblock", "signatures"];

    /// <summary>The magic's bytes as stored: the BE <c>t</c> spells "OSTSGNDT".</summary>
    private static ReadOnlySpan<byte> Magic => "OSTSGNDT"u8;

    /// <summary>Whether <paramref name="data"/> starts with the signed-superblock magic.</summary>
    public static bool IsSigned(ReadOnlySpan<byte> data) => data.StartsWith(Magic);

    /// <summary>Splits a signed superblock into the inner superblock bytes and its signatures.</summary>
    /// <exception cref="InvalidDataException">Not a well-formed wrapper.</exception>
    public static (byte[] Superblock, VariantDictionary Signatures) Unwrap(ReadOnlySpan<byte> data)
    {
        try
        {
            var v = (object[])GVariantReader.Decode(Format, data, Fields);
            return ((byte[])v[1], VariantDictionary.FromValue(v[2]));
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext("signed superblock");
        }
    }
}
