using System.Buffers.Binary;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>
/// Generates a summary the way <c>ostree summary -u</c> (ostree 2022.7,
/// <c>ostree_repo_regenerate_summary</c>) does, from plain inputs: refs with their commit
/// objects, the repo mode, the static deltas and the generation time. Given the same inputs
/// and last-modified time the result is byte-identical to ostree's, including the order of
/// metadata keys, which ostree takes from a GLib hash table (see <see cref="GLibHashOrder{TValue}"/>).
/// </summary>
/// <remarks>
/// Only refs of the repo itself belong in a summary (never <c>refs/remotes</c>). Deltas are
/// listed in the order given; ostree inserts them in directory order, which matters only
/// when two delta names collide in the hash table. Writing delta indexes is separate:
/// see <see cref="DeltaIndex.CreateAll"/>.
/// </remarks>
public sealed class SummaryBuilder
{
    private readonly TimeProvider _timeProvider;
    private readonly Dictionary<string, SummaryRef> _refs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, SummaryRef>> _collections = new(StringComparer.Ordinal);
    private readonly List<DeltaDigest> _deltas = [];
    private readonly List<KeyValuePair<string, Variant>> _additionalMetadata = [];

    /// <summary>Starts a summary for a repo whose <c>core.mode</c> is <paramref name="mode"/>.</summary>
    /// <param name="mode">The repo mode as written in <c>config</c>, e.g. <c>archive-z2</c>; clients only pull from archive repos.</param>
    /// <param name="timeProvider">Clock for <c>ostree.summary.last-modified</c> unless <see cref="LastModified"/> is set.</param>
    public SummaryBuilder(string mode, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(mode);
        Mode = mode;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The value of <c>ostree.summary.mode</c>.</summary>
    public string Mode { get; set; }

    /// <summary>The repo's <c>core.tombstone-commits</c> (default false), written as <c>ostree.summary.tombstone-commits</c>.</summary>
    public bool TombstoneCommits { get; set; }

    /// <summary>
    /// <c>ostree.summary.indexed-deltas</c>. ostree 2022.7 always writes true (and writes the
    /// indexes); set false only when no <c>delta-indexes/</c> are published.
    /// </summary>
    public bool IndexedDeltas { get; set; } = true;

    /// <summary>Whether to list deltas in <c>ostree.static-deltas</c>; false mirrors <c>core.no-deltas-in-summary=true</c>.</summary>
    public bool DeltasInSummary { get; set; } = true;

    /// <summary>The repo's <c>core.collection-id</c>, written as <c>ostree.summary.collection-id</c>; null for none.</summary>
    public string? CollectionId { get; set; }

    /// <summary>The generation time to record; null takes the current time from the <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset? LastModified { get; set; }

    /// <summary>
    /// A builder fed what <c>ostree summary -u</c> reads from <paramref name="repo"/>: its
    /// mode, <c>core.tombstone-commits</c>, <c>core.collection-id</c>, every ref under
    /// <c>refs/heads</c> with its commit object, and the static deltas on disk.
    /// </summary>
    public static SummaryBuilder ForRepository(OstreeRepo repo, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var builder = new SummaryBuilder(repo.Config.Get("core", "mode") ?? "bare", timeProvider)
        {
            TombstoneCommits = repo.Config.GetBoolean("core", "tombstone-commits", false),
            CollectionId = repo.Config.Get("core", "collection-id"),
        };
        foreach (var (name, commit) in repo.ListRefs(RefKind.Head))
        {
            builder.AddRef(name.Name, commit, repo.ReadMetadataBytes(commit, ObjectType.Commit));
        }

        return builder.AddDeltas(StaticDeltas.List(repo.Root));
    }

    /// <summary>
    /// Adds a ref. The commit object supplies the summary's commit size (its length), the
    /// ref's <c>ostree.commit.timestamp</c> and <c>ostree.commit.version</c>.
    /// </summary>
    /// <param name="name">Ref name, e.g. <c>exampleos/x86_64/stable</c>.</param>
    /// <param name="commit">The commit checksum the ref points to.</param>
    /// <param name="commitObject">The exact bytes of that <c>.commit</c> object.</param>
    /// <exception cref="ArgumentException">Invalid or duplicate ref name.</exception>
    /// <exception cref="InvalidDataException">The bytes are not a commit or do not hash to <paramref name="commit"/>.</exception>
    public SummaryBuilder AddRef(string name, Checksum commit, ReadOnlySpan<byte> commitObject)
    {
        var entry = CreateRef(name, commit, commitObject);
        if (!_refs.TryAdd(name, entry))
        {
            throw new ArgumentException($"ref '{name}' was already added", nameof(name));
        }

        return this;
    }

    /// <summary>
    /// Adds a ref of a collection, listed under <c>ostree.summary.collection-map</c> (or among
    /// the top-level refs when <paramref name="collectionId"/> equals <see cref="CollectionId"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Invalid collection ID, invalid or duplicate ref name.</exception>
    /// <exception cref="InvalidDataException">The bytes are not a commit or do not hash to <paramref name="commit"/>.</exception>
    public SummaryBuilder AddCollectionRef(string collectionId, string name, Checksum commit, ReadOnlySpan<byte> commitObject)
    {
        ArgumentNullException.ThrowIfNull(collectionId);
        if (!RefName.IsValidCollectionId(collectionId))
        {
            throw new ArgumentException($"'{collectionId}' is not a valid collection ID (a D-Bus interface name such as org.example.Os)", nameof(collectionId));
        }

        var entry = CreateRef(name, commit, commitObject);
        if (!_collections.TryGetValue(collectionId, out var refs))
        {
            refs = new Dictionary<string, SummaryRef>(StringComparer.Ordinal);
            _collections.Add(collectionId, refs);
        }

        if (!refs.TryAdd(name, entry))
        {
            throw new ArgumentException($"ref '{name}' of collection '{collectionId}' was already added", nameof(name));
        }

        return this;
    }

    /// <summary>Adds a static delta with the SHA-256 of its superblock file.</summary>
    public SummaryBuilder AddDelta(DeltaName name, Checksum superblockDigest)
    {
        _deltas.Add(new DeltaDigest(name, superblockDigest));
        return this;
    }

    /// <summary>Adds deltas as listed by <see cref="StaticDeltas.List"/> (keep that order to match ostree).</summary>
    public SummaryBuilder AddDeltas(IEnumerable<StaticDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        foreach (var delta in deltas)
        {
            AddDelta(delta.Name, delta.SuperblockDigest);
        }

        return this;
    }

    /// <summary>
    /// Adds a metadata entry the way <c>ostree summary -u --add-metadata</c> and the
    /// <c>additional_metadata</c> argument do: these are inserted first, and a well-known
    /// key given here is overwritten by the generated value.
    /// </summary>
    public SummaryBuilder AddMetadata(string key, Variant value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        _additionalMetadata.Add(new(key, value));
        return this;
    }

    /// <summary>Sets <c>ostree.summary.expires</c> (stored BE) as additional metadata.</summary>
    public SummaryBuilder SetExpires(DateTimeOffset expires) =>
        AddMetadata(SummaryFormats.ExpiresKey, Variant.FromUInt64(BinaryPrimitives.ReverseEndianness((ulong)expires.ToUnixTimeSeconds())));

    /// <summary>Builds the summary.</summary>
    public Summary Build()
    {
        var lastModified = (ulong)(LastModified ?? _timeProvider.GetUtcNow()).ToUnixTimeSeconds();

        // Insertion sequence of ostree_repo_regenerate_summary; the GVariantDict then emits
        // the keys in hash-table order, not in this order.
        var metadata = new List<KeyValuePair<string, Variant>>(_additionalMetadata);
        if (DeltasInSummary && _deltas.Count > 0)
        {
            var ordered = GLibHashOrder<DeltaDigest>.Order(_deltas.Select(d => new KeyValuePair<string, DeltaDigest>(d.Name.ToString(), d)));
            metadata.Add(new(SummaryFormats.StaticDeltasKey, DeltaDigest.ToVariant(ordered.Select(e => e.Value))));
        }

        metadata.Add(new(SummaryFormats.LastModifiedKey, Variant.FromUInt64(BinaryPrimitives.ReverseEndianness(lastModified))));
        metadata.Add(new(SummaryFormats.ModeKey, Variant.FromString(Mode)));
        metadata.Add(new(SummaryFormats.TombstoneCommitsKey, Variant.FromBoolean(TombstoneCommits)));
        metadata.Add(new(SummaryFormats.IndexedDeltasKey, Variant.FromBoolean(IndexedDeltas)));

        var refs = _refs.Values.ToList();
        var others = new List<object>();
        foreach (var (id, collectionRefs) in _collections.OrderBy(c => c.Key, NameOrder.Instance))
        {
            // ostree lists the repo's own collection among the top-level refs.
            if (id == CollectionId)
            {
                refs.AddRange(collectionRefs.Values);
                continue;
            }

            others.Add(new object[] { id, SummaryRef.ToValue(SummaryRef.Sorted(collectionRefs.Values, nameof(collectionRefs))) });
        }

        if (CollectionId is not null)
        {
            if (!RefName.IsValidCollectionId(CollectionId))
            {
                throw new InvalidOperationException($"CollectionId '{CollectionId}' is not a valid collection ID");
            }

            metadata.Add(new(SummaryFormats.CollectionIdKey, Variant.FromString(CollectionId)));
        }

        if (others.Count > 0)
        {
            metadata.Add(new(SummaryFormats.CollectionMapKey, new Variant(SummaryFormats.CollectionMap, others.ToArray())));
        }

        return new Summary(refs, new VariantDictionary(GLibHashOrder<Variant>.Order(metadata)));
    }

    private static SummaryRef CreateRef(string name, Checksum commit, ReadOnlySpan<byte> commitObject)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!RefName.IsValid(name))
        {
            throw new ArgumentException($"'{name}' is not a valid ref name", nameof(name));
        }

        var actual = Checksum.Compute(commitObject);
        if (actual != commit)
        {
            throw new InvalidDataException($"ref '{name}': commit object hashes to {actual}, not {commit}");
        }

        Commit parsed;
        try
        {
            parsed = Commit.Parse(commitObject);
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext($"ref '{name}': commit {commit.ToShortString()}");
        }

        // summary_add_ref_entry: the timestamp only if GLib can represent it as a date
        // (g_date_time_new_from_unix_utc, years 1–9999, the same range as DateTimeOffset),
        // the version only if the commit's "version" is a string.
        var metadata = new List<KeyValuePair<string, Variant>>(2);
        var seconds = (long)parsed.Timestamp;
        if (seconds >= DateTimeOffset.MinValue.ToUnixTimeSeconds() && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            metadata.Add(new(SummaryFormats.CommitTimestampKey, Variant.FromUInt64(BinaryPrimitives.ReverseEndianness(parsed.Timestamp))));
        }

        if (parsed.Metadata[Commit.VersionKey] is { Type.Signature: "s", Value: string version })
        {
            metadata.Add(new(SummaryFormats.CommitVersionKey, Variant.FromString(version)));
        }

        return new SummaryRef(name, (ulong)commitObject.Length, commit, new VariantDictionary(GLibHashOrder<Variant>.Order(metadata)));
    }
}
