using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>
/// A delta index file, <c>delta-indexes/T[0:2]/T[2:].index</c> (ostree-format.md §8.6):
/// an <c>a{sv}</c> whose <c>ostree.static-deltas</c> entry maps the name of every delta
/// ending at commit T to the SHA-256 of its superblock. A client whose summary says
/// <c>ostree.summary.indexed-deltas</c> fetches this instead of reading deltas from the summary.
/// </summary>
public sealed class DeltaIndex
{
    /// <summary>An index with this top-level dictionary (other keys are kept for forward compatibility).</summary>
    public DeltaIndex(VariantDictionary metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        Metadata = metadata;
    }

    /// <summary>The whole top-level dictionary, in serialised order.</summary>
    public VariantDictionary Metadata { get; }

    /// <summary>The indexed deltas in serialised order (empty when the key is absent).</summary>
    /// <exception cref="InvalidDataException">The entry is not a map of delta names to 32-byte digests.</exception>
    public IReadOnlyList<DeltaDigest> Deltas =>
        Metadata[SummaryFormats.StaticDeltasKey] is { } v ? DeltaDigest.FromVariant(v, SummaryFormats.StaticDeltasKey) : [];

    /// <summary>
    /// Builds the index for target <paramref name="to"/> as <c>ostree_repo_static_delta_reindex</c>
    /// intends: only deltas ending at <paramref name="to"/>, sorted by FROM (from-scratch
    /// first), inserted into a GVariantDict. The entries always equal ostree's; the bytes do
    /// too unless two names collide in the hash table, because ostree's sort is broken
    /// (<c>g_ptr_array_sort (froms, g_strcmp0)</c> compares the pointer bytes, not the
    /// strings), making its insertion order depend on heap addresses.
    /// </summary>
    public static DeltaIndex Create(Checksum to, IEnumerable<DeltaDigest> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        // From-scratch (a NULL from) first, then hex order, which is byte order of the checksums.
        var mine = deltas
            .Where(d => d.Name.To == to)
            .OrderBy(d => d.Name.From.HasValue)
            .ThenBy(d => d.Name.From.GetValueOrDefault())
            .Select(d => new KeyValuePair<string, DeltaDigest>(d.Name.ToString(), d));
        var ordered = GLibHashOrder<DeltaDigest>.Order(mine).Select(e => e.Value);
        var metadata = new VariantDictionary([new(SummaryFormats.StaticDeltasKey, DeltaDigest.ToVariant(ordered))]);
        return new DeltaIndex(metadata);
    }

    /// <summary>
    /// Builds one index per delta target, keyed by the path relative to the repo root where
    /// ostree writes it (<see cref="DeltaName.IndexPathFor"/>).
    /// </summary>
    public static IReadOnlyDictionary<string, DeltaIndex> CreateAll(IEnumerable<StaticDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        var digests = deltas.Select(d => new DeltaDigest(d.Name, d.SuperblockDigest)).ToList();
        return digests
            .Select(d => d.Name.To)
            .Distinct()
            .ToDictionary(DeltaName.IndexPathFor, to => Create(to, digests), StringComparer.Ordinal);
    }

    /// <summary>Parses and validates an index file: normal form, delta names, 32-byte digests.</summary>
    /// <exception cref="InvalidDataException">Malformed; the message names the entry.</exception>
    public static DeltaIndex Parse(ReadOnlySpan<byte> data)
    {
        try
        {
            var index = new DeltaIndex(VariantDictionary.FromValue(GVariantReader.DecodeNormal(SummaryFormats.DeltaIndex, data)));
            _ = index.Deltas;
            return index;
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext("delta index");
        }
    }

    /// <summary>Serialises in normal form.</summary>
    public byte[] Serialize() => Metadata.Serialize();
}
