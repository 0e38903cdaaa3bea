using System.Buffers.Binary;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>A collection of the summary's <c>ostree.summary.collection-map</c>: its ID and its refs, sorted by name.</summary>
public sealed record SummaryCollection(string CollectionId, IReadOnlyList<SummaryRef> Refs);

/// <summary>
/// The repository <c>summary</c> file, <c>(a(s(taya{sv}))a{sv})</c> (ostree-format.md §7):
/// the refs sorted byte-wise by name (the client binary-searches them), then metadata in
/// the order it was written. <see cref="Parse"/> keeps that order so
/// <see cref="Serialize"/> reproduces the input byte for byte; <c>summary.sig</c> signs
/// those exact bytes. Build new summaries with <see cref="SummaryBuilder"/>.
/// </summary>
public sealed class Summary
{
    private readonly SummaryRef[] _refs;

    /// <summary>A summary with these refs (sorted here, byte-wise) and this metadata (kept in its order).</summary>
    /// <exception cref="ArgumentException">Two refs have the same name.</exception>
    public Summary(IEnumerable<SummaryRef> refs, VariantDictionary metadata)
    {
        ArgumentNullException.ThrowIfNull(refs);
        ArgumentNullException.ThrowIfNull(metadata);
        _refs = SummaryRef.Sorted(refs, nameof(refs));
        Metadata = metadata;
    }

    /// <summary>The refs, sorted byte-wise (strcmp) by name.</summary>
    public IReadOnlyList<SummaryRef> Refs => _refs;

    /// <summary>The summary metadata, in serialised order (OSTree does not sort it).</summary>
    public VariantDictionary Metadata { get; }

    /// <summary><c>ostree.summary.mode</c>: the repo's <c>core.mode</c>, e.g. <c>archive-z2</c>.</summary>
    /// <exception cref="InvalidDataException">The key holds another type (likewise for every accessor below).</exception>
    public string? Mode => GetString(SummaryFormats.ModeKey);

    /// <summary><c>ostree.summary.last-modified</c> (stored BE): when the summary was generated.</summary>
    public DateTimeOffset? LastModified => ToTime(GetValue<ulong>(SummaryFormats.LastModifiedKey, GVariantTypes.UInt64, bigEndian: true));

    /// <summary><c>ostree.summary.expires</c> (stored BE): after this time clients should refetch.</summary>
    public DateTimeOffset? Expires => ToTime(GetValue<ulong>(SummaryFormats.ExpiresKey, GVariantTypes.UInt64, bigEndian: true));

    /// <summary><c>ostree.summary.tombstone-commits</c>: the client may fetch tombstones for missing parents.</summary>
    public bool? TombstoneCommits => GetValue<bool>(SummaryFormats.TombstoneCommitsKey, GVariantTypes.Boolean);

    /// <summary><c>ostree.summary.indexed-deltas</c>: the client looks deltas up in <c>delta-indexes/</c>.</summary>
    public bool? IndexedDeltas => GetValue<bool>(SummaryFormats.IndexedDeltasKey, GVariantTypes.Boolean);

    /// <summary><c>ostree.summary.collection-id</c>: the collection the top-level refs belong to.</summary>
    public string? CollectionId => GetString(SummaryFormats.CollectionIdKey);

    /// <summary><c>ostree.static-deltas</c>: every delta with the SHA-256 of its superblock, in serialised order (empty when absent).</summary>
    public IReadOnlyList<DeltaDigest> StaticDeltas =>
        Metadata[SummaryFormats.StaticDeltasKey] is { } v
            ? DeltaDigest.FromVariant(v, $"metadata['{SummaryFormats.StaticDeltasKey}']")
            : [];

    /// <summary><c>ostree.summary.collection-map</c>: refs of other collections, sorted by collection ID (empty when absent).</summary>
    public IReadOnlyList<SummaryCollection> CollectionMap
    {
        get
        {
            var path = $"metadata['{SummaryFormats.CollectionMapKey}']";
            if (Metadata[SummaryFormats.CollectionMapKey] is not { } v)
            {
                return [];
            }

            if (v.Type.Signature != SummaryFormats.CollectionMap.Signature)
            {
                return SummaryThrowHelper.WrongType<SummaryCollection[]>(path, SummaryFormats.CollectionMap, v.Type);
            }

            var items = (object[])v.Value;
            var result = new SummaryCollection[items.Length];
            for (var i = 0; i < items.Length; i++)
            {
                var entry = (object[])items[i];
                var id = (string)entry[0];
                if (!RefName.IsValidCollectionId(id))
                {
                    SummaryThrowHelper.InvalidField($"{path}[{i}]", $"'{id}' is not a valid collection ID");
                }

                if (i > 0 && NameOrder.Instance.Compare(result[i - 1].CollectionId, id) >= 0)
                {
                    SummaryThrowHelper.InvalidField($"{path}[{i}]", $"collection '{id}' is not sorted after '{result[i - 1].CollectionId}' (or is a duplicate)");
                }

                result[i] = new SummaryCollection(id, SummaryRef.ReadRefs(entry[1], $"{path}['{id}'].refs"));
            }

            return result;
        }
    }

    /// <summary>Finds a ref by exact name with the client's binary search (so it relies on the sort order).</summary>
    public SummaryRef? FindRef(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        int lo = 0, hi = _refs.Length - 1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) / 2);
            var c = NameOrder.Instance.Compare(_refs[mid].Name, name);
            if (c == 0)
            {
                return _refs[mid];
            }

            if (c < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return null;
    }

    /// <summary>
    /// Parses and validates summary bytes: normal form (as <c>ostree pull</c> requires),
    /// ref names valid and strictly sorted, 32-byte checksums, and the types of every
    /// well-known metadata key.
    /// </summary>
    /// <exception cref="InvalidDataException">Malformed; the message names the field, e.g. <c>summary: refs[3].name: …</c>.</exception>
    public static Summary Parse(ReadOnlySpan<byte> data)
    {
        try
        {
            var v = (object[])GVariantReader.DecodeNormal(ObjectFormats.Summary, data, ObjectFormats.SummaryFields);
            var refs = SummaryRef.ReadRefs(v[0], "refs");
            var summary = new Summary(refs, VariantDictionary.FromValue(v[1]));
            summary.ValidateMetadata();
            return summary;
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext("summary");
        }
    }

    /// <summary>Serialises in normal form.</summary>
    public byte[] Serialize() =>
        GVariantWriter.Encode(ObjectFormats.Summary, new object[] { SummaryRef.ToValue(_refs), Metadata.ToValue() });

    // Reads every well-known key once so type errors surface at parse time, not later.
    private void ValidateMetadata()
    {
        _ = (Mode, LastModified, Expires, TombstoneCommits, IndexedDeltas, StaticDeltas, CollectionMap);
        if (CollectionId is { } id && !RefName.IsValidCollectionId(id))
        {
            SummaryThrowHelper.InvalidField($"metadata['{SummaryFormats.CollectionIdKey}']", $"'{id}' is not a valid collection ID");
        }
    }

    private T? GetValue<T>(string key, GVariantType type, bool bigEndian = false)
        where T : struct
    {
        if (Metadata[key] is not { } v)
        {
            return null;
        }

        var value = SummaryRef.TypedValue<T>(v, type, key);
        return bigEndian && value is ulong u ? (T)(object)BinaryPrimitives.ReverseEndianness(u) : value;
    }

    private string? GetString(string key) =>
        Metadata[key] is { } v ? SummaryRef.TypedValue<string>(v, GVariantTypes.String, key) : null;

    private static DateTimeOffset? ToTime(ulong? seconds) =>
        seconds is { } s
            ? DateTimeOffset.FromUnixTimeSeconds((long)Math.Min(s, (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds()))
            : null;
}
