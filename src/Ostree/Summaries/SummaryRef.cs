using System.Buffers.Binary;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>
/// One ref of a summary: <c>(name, (commit size, commit checksum, ref metadata))</c>.
/// The client uses <see cref="CommitSize"/> as the download limit for the <c>.commit</c>
/// object (0 disables the limit), so it must be the exact size of the commit file.
/// </summary>
/// <param name="Name">The ref name, e.g. <c>exampleos/x86_64/stable</c>.</param>
/// <param name="CommitSize">Size in bytes of the <c>.commit</c> object (stored little-endian).</param>
/// <param name="Checksum">The commit the ref points to.</param>
/// <param name="Metadata">Ref metadata: <c>ostree.commit.timestamp</c> (t, BE) and optionally <c>ostree.commit.version</c> (s), in GVariantDict order.</param>
public sealed record SummaryRef(string Name, ulong CommitSize, Checksum Checksum, VariantDictionary Metadata)
{
    /// <summary>The commit timestamp (seconds since the epoch, UTC) from <c>ostree.commit.timestamp</c>, if present.</summary>
    /// <exception cref="InvalidDataException">The key holds another type.</exception>
    public ulong? Timestamp =>
        Metadata[SummaryFormats.CommitTimestampKey] is { } v
            ? BinaryPrimitives.ReverseEndianness(TypedValue<ulong>(v, GVariantTypes.UInt64, SummaryFormats.CommitTimestampKey))
            : null;

    /// <summary>The commit's <c>version</c> metadata copied into <c>ostree.commit.version</c>, if present.</summary>
    /// <exception cref="InvalidDataException">The key holds another type.</exception>
    public string? Version =>
        Metadata[SummaryFormats.CommitVersionKey] is { } v
            ? TypedValue<string>(v, GVariantTypes.String, SummaryFormats.CommitVersionKey)
            : null;

    /// <summary>Reads and validates a refs array (<c>a(s(taya{sv}))</c>): names, checksums, metadata types, strict byte-wise order.</summary>
    internal static SummaryRef[] ReadRefs(object value, string field)
    {
        var items = (object[])value;
        var refs = new SummaryRef[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var entry = (object[])items[i];
            var name = (string)entry[0];
            if (!RefName.IsValid(name))
            {
                SummaryThrowHelper.InvalidField($"{field}[{i}].name", $"'{name}' is not a valid ref name");
            }

            if (i > 0 && NameOrder.Instance.Compare(refs[i - 1].Name, name) >= 0)
            {
                // The client binary-searches this array; an unsorted one hides refs.
                SummaryThrowHelper.InvalidField($"{field}[{i}].name", $"'{name}' is not sorted after '{refs[i - 1].Name}' (or is a duplicate)");
            }

            var target = (object[])entry[1];
            var checksum = SummaryThrowHelper.WithField($"{field}[{i}] '{name}'.checksum", () => Checksum.FromBytes((byte[])target[1]));
            var r = new SummaryRef(name, (ulong)target[0], checksum, VariantDictionary.FromValue(target[2]));
            SummaryThrowHelper.WithField($"{field}[{i}] '{name}'", () => (r.Timestamp, r.Version));
            refs[i] = r;
        }

        return refs;
    }

    /// <summary>The refs array value; <paramref name="refs"/> must already be sorted.</summary>
    internal static object[] ToValue(IReadOnlyList<SummaryRef> refs)
    {
        var items = new object[refs.Count];
        for (var i = 0; i < items.Length; i++)
        {
            var r = refs[i];
            items[i] = new object[] { r.Name, new object[] { r.CommitSize, r.Checksum.Bytes.ToArray(), r.Metadata.ToValue() } };
        }

        return items;
    }

    /// <summary>Sorts byte-wise by name and rejects duplicates (a caller bug, not bad data).</summary>
    internal static SummaryRef[] Sorted(IEnumerable<SummaryRef> refs, string paramName)
    {
        var sorted = refs.OrderBy(r => r.Name, NameOrder.Instance).ToArray();
        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i].Name == sorted[i - 1].Name)
            {
                throw new ArgumentException($"ref '{sorted[i].Name}' appears twice", paramName);
            }
        }

        return sorted;
    }

    internal static T TypedValue<T>(Variant value, GVariantType expected, string key) =>
        value.Type.Signature == expected.Signature
            ? (T)value.Value
            : SummaryThrowHelper.WrongType<T>($"metadata['{key}']", expected, value.Type);
}
