using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>
/// One entry of an <c>ostree.static-deltas</c> map (summary metadata and delta index
/// files): a delta and the SHA-256 of its superblock <b>file</b>, which the client checks
/// before using the delta.
/// </summary>
public readonly record struct DeltaDigest(DeltaName Name, Checksum SuperblockDigest)
{
    /// <summary>Reads an <c>a{sv}</c> map of delta name → <c>&lt;ay&gt;</c> digest, keeping its order.</summary>
    internal static DeltaDigest[] FromVariant(Variant variant, string field)
    {
        if (variant.Type.Signature != SummaryFormats.StaticDeltaMap.Signature)
        {
            return SummaryThrowHelper.WrongType<DeltaDigest[]>(field, SummaryFormats.StaticDeltaMap, variant.Type);
        }

        var items = (object[])variant.Value;
        var result = new DeltaDigest[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var entry = (object[])items[i];
            var key = (string)entry[0];
            var value = (Variant)entry[1];
            if (!DeltaName.TryParse(key, out var name))
            {
                SummaryThrowHelper.InvalidField($"{field}[{i}]", $"'{key}' is not a static delta name (TO or FROM-TO in hex)");
            }

            if (!value.Type.IsByteArray)
            {
                SummaryThrowHelper.WrongType<DeltaDigest>($"{field}['{key}']", GVariantTypes.ByteArray, value.Type);
            }

            var digest = SummaryThrowHelper.WithField($"{field}['{key}']", () => Checksum.FromBytes((byte[])value.Value));
            result[i] = new DeltaDigest(name, digest);
        }

        return result;
    }

    /// <summary>Builds the <c>a{sv}</c> map in the given order.</summary>
    internal static Variant ToVariant(IEnumerable<DeltaDigest> digests)
    {
        var items = digests
            .Select(d => (object)new object[] { d.Name.ToString(), Variant.FromBytes(d.SuperblockDigest.Bytes.ToArray()) })
            .ToArray();
        return new Variant(SummaryFormats.StaticDeltaMap, items);
    }
}
