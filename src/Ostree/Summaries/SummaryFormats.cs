using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>
/// GVariant types and well-known keys of the summary file, static-delta superblocks and
/// delta indexes (ostree-format.md §7, §8), declared once beside the spec. The top-level
/// summary and superblock types live in <see cref="ObjectFormats"/>; this class adds the
/// inner element types and the metadata keys.
/// </summary>
/// <remarks>
/// Byte order: GVariant is little-endian. OSTree pre-swaps to big-endian (BE): the
/// summary's <c>ostree.summary.last-modified</c>, <c>ostree.summary.expires</c> and each
/// ref's <c>ostree.commit.timestamp</c>, and the superblock timestamp. The summary's commit
/// size is plain little-endian. Superblock part-header and fallback integers are in the
/// byte order named by the superblock's <c>ostree.endianness</c> key.
/// </remarks>
public static class SummaryFormats
{
    /// <summary>Summary metadata: repository mode (<c>s</c>), the <c>core.mode</c> of the repo, e.g. <c>archive-z2</c>.</summary>
    public const string ModeKey = "ostree.summary.mode";

    /// <summary>Summary metadata: generation time (<c>t</c>, BE seconds since the epoch).</summary>
    public const string LastModifiedKey = "ostree.summary.last-modified";

    /// <summary>Summary metadata: whether the repo writes tombstone commits (<c>b</c>).</summary>
    public const string TombstoneCommitsKey = "ostree.summary.tombstone-commits";

    /// <summary>Summary metadata: whether delta indexes exist under <c>delta-indexes/</c> (<c>b</c>).</summary>
    public const string IndexedDeltasKey = "ostree.summary.indexed-deltas";

    /// <summary>Summary metadata and delta index: delta name → <c>&lt;ay&gt;</c> SHA-256 of the superblock file (<c>a{sv}</c>).</summary>
    public const string StaticDeltasKey = "ostree.static-deltas";

    /// <summary>Summary metadata: time after which clients should refetch (<c>t</c>, BE).</summary>
    public const string ExpiresKey = "ostree.summary.expires";

    /// <summary>Summary metadata: the repo's collection ID (<c>s</c>), when <c>core.collection-id</c> is set.</summary>
    public const string CollectionIdKey = "ostree.summary.collection-id";

    /// <summary>Summary metadata: refs of other collections (<c>a{sa(s(taya{sv}))}</c>), both levels sorted.</summary>
    public const string CollectionMapKey = "ostree.summary.collection-map";

    /// <summary>Ref metadata: the commit's timestamp (<c>t</c>, BE).</summary>
    public const string CommitTimestampKey = "ostree.commit.timestamp";

    /// <summary>Ref metadata: the commit's <c>version</c> metadata (<c>s</c>), only when the commit has one.</summary>
    public const string CommitVersionKey = "ostree.commit.version";

    /// <summary>Superblock metadata: byte order of part-header and fallback integers (<c>y</c>: <c>'l'</c> or <c>'B'</c>).</summary>
    public const string EndiannessKey = "ostree.endianness";

    /// <summary>The client refuses metadata (summary, superblock, index) larger than this (OSTREE_MAX_METADATA_SIZE in 2022.7).</summary>
    public const int MaxMetadataSize = 10 * 1024 * 1024;

    /// <summary>A refs array: <c>(name, (commit size LE, commit checksum, ref metadata))</c>, sorted by name.</summary>
    public static readonly GVariantType Refs = GVariantType.Parse("a(s(taya{sv}))");

    /// <summary>The collection map value: collection ID → refs array, sorted by collection ID.</summary>
    public static readonly GVariantType CollectionMap = GVariantType.Parse("a{sa(s(taya{sv}))}");

    /// <summary>Superblock part header: version, part checksum, part size, uncompressed size, object records.</summary>
    public static readonly GVariantType DeltaPartHeader = GVariantType.Parse("(uayttay)");

    /// <summary>Superblock fallback: object type, checksum, compressed size, uncompressed size.</summary>
    public static readonly GVariantType DeltaFallback = GVariantType.Parse("(yaytt)");

    /// <summary>Delta index file (<c>delta-indexes/XX/REST.index</c>): <c>{"ostree.static-deltas": &lt;a{sv}&gt;}</c>.</summary>
    public static readonly GVariantType DeltaIndex = GVariantTypes.VariantDictionary;

    internal static readonly GVariantType StaticDeltaMap = GVariantTypes.VariantDictionary;
}
