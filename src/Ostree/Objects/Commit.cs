using System.Buffers.Binary;
using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Objects;

/// <summary>A related-object entry of a commit (always empty in practice, kept for fidelity).</summary>
public readonly record struct RelatedObject(string Name, Checksum Checksum);

/// <summary>A commit object (ostree-format.md §2.3). Its checksum is the SHA-256 of <see cref="Serialize"/>.</summary>
public sealed record Commit(
    VariantDictionary Metadata,
    Checksum? Parent,
    IReadOnlyList<RelatedObject> Related,
    string Subject,
    string Body,
    ulong Timestamp,
    Checksum RootTree,
    Checksum RootMeta)
{
    /// <summary>Metadata key holding the refs this commit may be pulled under.</summary>
    public const string RefBindingKey = "ostree.ref-binding";

    /// <summary>Metadata key holding the version string.</summary>
    public const string VersionKey = "version";

    /// <summary>The commit's <c>version</c> metadata, if any.</summary>
    public string? Version => Metadata.GetString(VersionKey);

    /// <summary>The commit time as a UTC date.</summary>
    public DateTimeOffset Time => DateTimeOffset.FromUnixTimeSeconds((long)Math.Min(Timestamp, (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds()));

    /// <summary>
    /// The content checksum shown by <c>ostree show</c>: SHA-256 of the root dirtree
    /// checksum followed by the root dirmeta checksum (ignores metadata and time).
    /// </summary>
    public Checksum ContentChecksum
    {
        get
        {
            Span<byte> both = stackalloc byte[2 * Checksum.Length];
            RootTree.Bytes.CopyTo(both);
            RootMeta.Bytes.CopyTo(both[Checksum.Length..]);
            return Checksum.Compute(both);
        }
    }

    /// <summary>Parses and validates commit bytes.</summary>
    /// <exception cref="InvalidDataException">Malformed; the message names the field.</exception>
    public static Commit Parse(ReadOnlySpan<byte> data)
    {
        var v = (object[])GVariantReader.DecodeNormalNamed(ObjectFormats.Commit, data, ObjectFormats.CommitNames);
        var parent = (byte[])v[1];
        var related = (object[])v[2];
        var relatedList = new RelatedObject[related.Length];
        for (var i = 0; i < related.Length; i++)
        {
            var e = (object[])related[i];
            relatedList[i] = new RelatedObject((string)e[0], Field($"related[{i}]", (byte[])e[1]));
        }

        return new Commit(
            VariantDictionary.FromValue(v[0]),
            parent.Length == 0 ? null : Field("parent", parent),
            relatedList,
            (string)v[3],
            (string)v[4],
            BinaryPrimitives.ReverseEndianness((ulong)v[5]),
            Field("root-dirtree", (byte[])v[6]),
            Field("root-dirmeta", (byte[])v[7]));
    }

    /// <summary>Serialises in normal form.</summary>
    public byte[] Serialize()
    {
        var related = new object[Related.Count];
        for (var i = 0; i < related.Length; i++)
        {
            related[i] = new object[] { Related[i].Name, Related[i].Checksum.Bytes.ToArray() };
        }

        return GVariantWriter.Encode(ObjectFormats.Commit, new object[]
        {
            Metadata.ToValue(),
            Parent is { } p ? p.Bytes.ToArray() : Array.Empty<byte>(),
            related,
            Subject,
            Body,
            BinaryPrimitives.ReverseEndianness(Timestamp),
            RootTree.Bytes.ToArray(),
            RootMeta.Bytes.ToArray(),
        });
    }

    /// <summary>The commit checksum.</summary>
    public Checksum ComputeChecksum() => Checksum.Compute(Serialize());

    private static Checksum Field(string field, byte[] bytes) => DirMeta.WithField(field, () => Checksum.FromBytes(bytes));
}
