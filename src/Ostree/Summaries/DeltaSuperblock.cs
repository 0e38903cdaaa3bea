using System.Buffers.Binary;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>Byte order of the part-header and fallback integers of a superblock (<c>ostree.endianness</c>).</summary>
public enum DeltaEndianness
{
    /// <summary><c>'l'</c>: little-endian, what ostree writes on x86 and ARM.</summary>
    Little,

    /// <summary><c>'B'</c>: big-endian.</summary>
    Big,
}

/// <summary>An object a delta part produces: a 33-byte record of object type and checksum.</summary>
public readonly record struct DeltaObject(ObjectType Type, Checksum Checksum)
{
    /// <summary>Bytes per record in a part header's object list.</summary>
    public const int RecordLength = 1 + Checksum.Length;
}

/// <summary>
/// A superblock part header <c>(uayttay)</c>; the client downloads part i from
/// <c>deltas/…/i</c>, refuses more than <see cref="Size"/> bytes and checks <see cref="Checksum"/>.
/// </summary>
/// <param name="Version">Payload format version; only 0 exists.</param>
/// <param name="Checksum">SHA-256 of the whole part file.</param>
/// <param name="Size">Length of the part file (compression byte included).</param>
/// <param name="UncompressedSize">Total size of the objects the part produces.</param>
/// <param name="Objects">The objects, in the order the part's operations produce them.</param>
public sealed record DeltaPartHeader(uint Version, Checksum Checksum, ulong Size, ulong UncompressedSize, IReadOnlyList<DeltaObject> Objects);

/// <summary>A fallback <c>(yaytt)</c>: an object the client fetches loose instead of from a part.</summary>
public readonly record struct DeltaFallback(ObjectType Type, Checksum Checksum, ulong CompressedSize, ulong UncompressedSize);

/// <summary>
/// A static-delta superblock, <c>deltas/…/superblock</c> (ostree-format.md §8.2): metadata,
/// timestamp (BE), from/to commits, the complete target commit object, part headers and
/// fallbacks. Part-header and fallback integers are in the byte order of
/// <see cref="Endianness"/>; the values exposed here are already converted.
/// </summary>
public sealed class DeltaSuperblock
{
    /// <summary>ostree's only delta part payload version (OSTREE_DELTAPART_VERSION).</summary>
    public const uint PartVersion = 0;

    // "OSTSGNDT", the big-endian magic of a signed superblock wrapper (taya{sv}), §8.7.
    private static ReadOnlySpan<byte> SignedMagic => "OSTSGNDT"u8;

    private DeltaSuperblock(
        VariantDictionary metadata,
        ulong timestamp,
        Checksum? from,
        Checksum to,
        byte[] commitObject,
        Commit commit,
        byte[] recursiveDeltas,
        DeltaPartHeader[] parts,
        DeltaFallback[] fallbacks,
        DeltaEndianness endianness,
        bool endiannessGuessed)
    {
        Metadata = metadata;
        Timestamp = timestamp;
        From = from;
        To = to;
        CommitObject = commitObject;
        Commit = commit;
        RecursiveDeltas = recursiveDeltas;
        Parts = parts;
        Fallbacks = fallbacks;
        Endianness = endianness;
        EndiannessGuessed = endiannessGuessed;
    }

    /// <summary>
    /// A new superblock as <c>static-delta generate</c> writes it; <paramref name="metadata"/>
    /// should already hold <c>ostree.endianness</c> matching <paramref name="endianness"/>.
    /// </summary>
    /// <exception cref="InvalidDataException"><paramref name="commitObject"/> is not a commit hashing to <paramref name="to"/>.</exception>
    public static DeltaSuperblock Create(
        VariantDictionary metadata,
        DateTimeOffset timestamp,
        Checksum? from,
        Checksum to,
        ReadOnlySpan<byte> commitObject,
        IReadOnlyList<DeltaPartHeader> parts,
        IReadOnlyList<DeltaFallback> fallbacks,
        DeltaEndianness endianness = DeltaEndianness.Little)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentNullException.ThrowIfNull(fallbacks);
        var actual = Checksum.Compute(commitObject);
        if (actual != to)
        {
            SummaryThrowHelper.InvalidField("commit", $"commit object hashes to {actual}, but the delta's target is {to}");
        }

        var commit = Commit.Parse(commitObject);
        return new DeltaSuperblock(metadata, (ulong)timestamp.ToUnixTimeSeconds(), from, to, commitObject.ToArray(), commit, [], [.. parts], [.. fallbacks], endianness, endiannessGuessed: false);
    }

    /// <summary>Superblock metadata: <c>ostree.endianness</c>, user keys, inline parts, the target's detached metadata.</summary>
    public VariantDictionary Metadata { get; }

    /// <summary>Generation time, seconds since the epoch (stored BE).</summary>
    public ulong Timestamp { get; }

    /// <summary>The starting commit, or null for a from-scratch delta.</summary>
    public Checksum? From { get; }

    /// <summary>The target commit.</summary>
    public Checksum To { get; }

    /// <summary>The delta's name (from/to).</summary>
    public DeltaName Name => new(From, To);

    /// <summary>The embedded target commit object, byte-identical to its <c>.commit</c> file (its SHA-256 is <see cref="To"/>).</summary>
    public ReadOnlyMemory<byte> CommitObject { get; }

    /// <summary>The embedded target commit, parsed.</summary>
    public Commit Commit { get; }

    /// <summary>"Recursive deltas" (an <c>ay</c> ostree always leaves empty), kept for round trips.</summary>
    public ReadOnlyMemory<byte> RecursiveDeltas { get; }

    /// <summary>The part headers; part i is the file <c>deltas/…/i</c> (or an inline part in the metadata).</summary>
    public IReadOnlyList<DeltaPartHeader> Parts { get; }

    /// <summary>Objects to fetch loose instead of from a part.</summary>
    public IReadOnlyList<DeltaFallback> Fallbacks { get; }

    /// <summary>Byte order of part-header and fallback integers on disk.</summary>
    public DeltaEndianness Endianness { get; }

    /// <summary>True when <c>ostree.endianness</c> was absent and the order was guessed as ostree does.</summary>
    public bool EndiannessGuessed { get; }

    /// <summary>
    /// The target commit's detached metadata embedded by <c>static-delta generate</c>; a
    /// pulling client verifies signatures from here, not from the <c>.commitmeta</c> file.
    /// </summary>
    /// <exception cref="InvalidDataException">The entry is not an <c>a{sv}</c>.</exception>
    public VariantDictionary? DetachedMetadata
    {
        get
        {
            var key = Name.DetachedMetadataKey;
            if (Metadata[key] is not { } v)
            {
                return null;
            }

            return v.Type.Signature == GVariantTypes.VariantDictionary.Signature
                ? VariantDictionary.FromValue(v.Value)
                : SummaryThrowHelper.WrongType<VariantDictionary>($"metadata['{key}']", GVariantTypes.VariantDictionary, v.Type);
        }
    }

    /// <summary>
    /// Parses and validates a superblock: normal form, checksum lengths, object types, part
    /// versions, and that the embedded commit hashes to the target checksum.
    /// </summary>
    /// <exception cref="InvalidDataException">Malformed; the message names the field, e.g. <c>superblock: parts[2].objects: …</c>.</exception>
    public static DeltaSuperblock Parse(ReadOnlySpan<byte> data)
    {
        if (data.StartsWith(SignedMagic))
        {
            throw new InvalidDataException("superblock: this is a signed superblock (OSTSGNDT wrapper); only 'static-delta apply-offline' reads those");
        }

        try
        {
            return ParseCore(data);
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext("superblock");
        }
    }

    /// <summary>
    /// A copy whose part-header and fallback integers are serialised in
    /// <paramref name="endianness"/>, with <c>ostree.endianness</c> set to match (in place,
    /// or appended when it was absent).
    /// </summary>
    public DeltaSuperblock WithEndianness(DeltaEndianness endianness)
    {
        var metadata = new VariantDictionary(Metadata.Entries);
        metadata.Set(SummaryFormats.EndiannessKey, new Variant(GVariantTypes.Byte, endianness == DeltaEndianness.Big ? (byte)'B' : (byte)'l'));
        return new DeltaSuperblock(metadata, Timestamp, From, To, CommitObject.ToArray(), Commit, RecursiveDeltas.ToArray(), [.. Parts], [.. Fallbacks], endianness, endiannessGuessed: false);
    }

    /// <summary>
    /// Serialises in normal form, writing part-header and fallback integers in
    /// <see cref="Endianness"/> (keep <c>ostree.endianness</c> in <see cref="Metadata"/> in
    /// agreement, as <see cref="WithEndianness"/> does).
    /// </summary>
    public byte[] Serialize()
    {
        var swap = NeedsSwap(Endianness);
        var parts = new object[Parts.Count];
        for (var i = 0; i < parts.Length; i++)
        {
            var p = Parts[i];
            var objects = new byte[p.Objects.Count * DeltaObject.RecordLength];
            for (var j = 0; j < p.Objects.Count; j++)
            {
                var record = objects.AsSpan(j * DeltaObject.RecordLength, DeltaObject.RecordLength);
                record[0] = (byte)p.Objects[j].Type;
                p.Objects[j].Checksum.Bytes.CopyTo(record[1..]);
            }

            parts[i] = new object[] { Swap(p.Version, swap), p.Checksum.Bytes.ToArray(), Swap(p.Size, swap), Swap(p.UncompressedSize, swap), objects };
        }

        var fallbacks = new object[Fallbacks.Count];
        for (var i = 0; i < fallbacks.Length; i++)
        {
            var f = Fallbacks[i];
            fallbacks[i] = new object[] { (byte)f.Type, f.Checksum.Bytes.ToArray(), Swap(f.CompressedSize, swap), Swap(f.UncompressedSize, swap) };
        }

        return GVariantWriter.Encode(ObjectFormats.DeltaSuperblock, new object[]
        {
            Metadata.ToValue(),
            BinaryPrimitives.ReverseEndianness(Timestamp),
            From is { } from ? from.Bytes.ToArray() : Array.Empty<byte>(),
            To.Bytes.ToArray(),
            GVariantReader.Decode(ObjectFormats.Commit, CommitObject.Span),
            RecursiveDeltas.ToArray(),
            parts,
            fallbacks,
        });
    }

    private static DeltaSuperblock ParseCore(ReadOnlySpan<byte> data)
    {
        var v = (object[])GVariantReader.DecodeNormal(ObjectFormats.DeltaSuperblock, data, ObjectFormats.DeltaSuperblockFields);
        var metadata = VariantDictionary.FromValue(v[0]);
        var fromBytes = (byte[])v[2];
        Checksum? from = fromBytes.Length == 0 ? null : SummaryThrowHelper.WithField("from", () => Checksum.FromBytes(fromBytes));
        var to = SummaryThrowHelper.WithField("to", () => Checksum.FromBytes((byte[])v[3]));

        // The commit member was validated as part of the whole; normal form is compositional,
        // so re-encoding it yields exactly the embedded bytes, which must hash to "to".
        var commitObject = GVariantWriter.Encode(ObjectFormats.Commit, v[4]);
        var commit = SummaryThrowHelper.WithField("commit", () => Commit.Parse(commitObject));
        var actual = Checksum.Compute(commitObject);
        if (actual != to)
        {
            SummaryThrowHelper.InvalidField("commit", $"embedded commit hashes to {actual}, but the delta's target is {to}");
        }

        var rawParts = (object[])v[6];
        var rawFallbacks = (object[])v[7];
        var (endianness, guessed) = ReadEndianness(metadata, rawParts);
        var swap = NeedsSwap(endianness);

        var parts = new DeltaPartHeader[rawParts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var p = (object[])rawParts[i];
            var field = $"parts[{i}]";
            var version = Swap((uint)p[0], swap);
            if (version > PartVersion)
            {
                SummaryThrowHelper.InvalidField($"{field}.version", $"{version} is newer than the supported version {PartVersion}");
            }

            parts[i] = new DeltaPartHeader(
                version,
                SummaryThrowHelper.WithField($"{field}.checksum", () => Checksum.FromBytes((byte[])p[1])),
                Swap((ulong)p[2], swap),
                Swap((ulong)p[3], swap),
                ReadObjects((byte[])p[4], $"{field}.objects"));
        }

        var fallbacks = new DeltaFallback[rawFallbacks.Length];
        for (var i = 0; i < fallbacks.Length; i++)
        {
            var f = (object[])rawFallbacks[i];
            var field = $"fallbacks[{i}]";
            fallbacks[i] = new DeltaFallback(
                ReadObjectType((byte)f[0], $"{field}.type"),
                SummaryThrowHelper.WithField($"{field}.checksum", () => Checksum.FromBytes((byte[])f[1])),
                Swap((ulong)f[2], swap),
                Swap((ulong)f[3], swap));
        }

        return new DeltaSuperblock(
            metadata,
            BinaryPrimitives.ReverseEndianness((ulong)v[1]),
            from,
            to,
            commitObject,
            commit,
            (byte[])v[5],
            parts,
            fallbacks,
            endianness,
            guessed);
    }

    private static DeltaObject[] ReadObjects(byte[] records, string field)
    {
        if (records.Length % DeltaObject.RecordLength != 0)
        {
            SummaryThrowHelper.InvalidField(field, $"{records.Length} bytes is not a whole number of {DeltaObject.RecordLength}-byte object records");
        }

        var objects = new DeltaObject[records.Length / DeltaObject.RecordLength];
        for (var i = 0; i < objects.Length; i++)
        {
            var record = records.AsSpan(i * DeltaObject.RecordLength, DeltaObject.RecordLength);
            objects[i] = new DeltaObject(ReadObjectType(record[0], $"{field}[{i}].type"), Checksum.FromBytes(record[1..]));
        }

        return objects;
    }

    private static ObjectType ReadObjectType(byte value, string field) =>
        Enum.IsDefined((ObjectType)value)
            ? (ObjectType)value
            : SummaryThrowHelper.InvalidField<ObjectType>(field, $"{value} is not an object type");

    // _ostree_delta_get_endianness: trust the key; without it, ostree guesses "swapped" when
    // a part is > 1.2x larger compressed than uncompressed or the average object would exceed
    // 4 GiB, and otherwise assumes host order (little-endian here).
    private static (DeltaEndianness Endianness, bool Guessed) ReadEndianness(VariantDictionary metadata, object[] rawParts)
    {
        if (metadata[SummaryFormats.EndiannessKey] is { } v)
        {
            var field = $"metadata['{SummaryFormats.EndiannessKey}']";
            var b = SummaryRef.TypedValue<byte>(v, GVariantTypes.Byte, SummaryFormats.EndiannessKey);
            return b switch
            {
                (byte)'l' => (DeltaEndianness.Little, false),
                (byte)'B' => (DeltaEndianness.Big, false),
                _ => SummaryThrowHelper.InvalidField<(DeltaEndianness, bool)>(field, $"0x{b:x2} is neither 'l' nor 'B'"),
            };
        }

        ulong totalSize = 0;
        ulong totalObjects = 0;
        foreach (object[] p in rawParts)
        {
            var size = (ulong)p[2];
            var usize = (ulong)p[3];
            totalSize += size;
            totalObjects += (ulong)(((byte[])p[4]).Length / DeltaObject.RecordLength);
            if (size > usize && (double)size / usize > 1.2)
            {
                return (DeltaEndianness.Big, true);
            }
        }

        return totalObjects > 0 && totalSize / totalObjects > uint.MaxValue
            ? (DeltaEndianness.Big, true)
            : (DeltaEndianness.Little, true);
    }

    // Part headers are written in the generating host's order; GVariant decoding gave us
    // little-endian values, so only big-endian superblocks need swapping.
    private static bool NeedsSwap(DeltaEndianness endianness) => endianness == DeltaEndianness.Big;

    private static uint Swap(uint value, bool swap) => swap ? BinaryPrimitives.ReverseEndianness(value) : value;

    private static ulong Swap(ulong value, bool swap) => swap ? BinaryPrimitives.ReverseEndianness(value) : value;
}
