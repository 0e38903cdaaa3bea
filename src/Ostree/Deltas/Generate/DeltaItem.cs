using System.Text;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Deltas.Generate;

/// <summary>How a delta part produces an object (ostree-format.md §8.4, §8.8).</summary>
internal enum DeltaItemKind
{
    /// <summary>A metadata object spliced whole from the payload (<c>S len off</c>).</summary>
    Metadata,

    /// <summary>A changed file rebuilt from payload bytes and chunks of a similar old file (<c>o w r w R c</c>).</summary>
    Rollsum,

    /// <summary>A changed file rebuilt by a bsdiff patch against a similar old file (<c>r o B c R</c>).</summary>
    Bsdiff,

    /// <summary>A regular file or symlink spliced whole from the payload (<c>S mode xattr size off</c>).</summary>
    Content,
}

/// <summary>One object a delta part produces, with what its operations need.</summary>
internal sealed class DeltaItem
{
    private DeltaItem(DeltaItemKind kind, ObjectType type, Checksum checksum, long size)
    {
        Kind = kind;
        Type = type;
        Checksum = checksum;
        Size = size;
    }

    public DeltaItemKind Kind { get; }

    public ObjectType Type { get; }

    public Checksum Checksum { get; }

    /// <summary>The object's size as the part header counts it: metadata length, file content length (0 for symlinks, as ostree's archive header says).</summary>
    public long Size { get; }

    /// <summary>Metadata bytes (<see cref="DeltaItemKind.Metadata"/>).</summary>
    public byte[]? MetadataBytes { get; private init; }

    /// <summary>The file header (every kind but metadata).</summary>
    public FileHeader? Header { get; private init; }

    /// <summary>The old file a rollsum or bsdiff item reads from.</summary>
    public Checksum Source { get; private init; }

    /// <summary>Rollsum chunk matches, in new-file order.</summary>
    public IReadOnlyList<RollsumMatch>? Matches { get; private init; }

    /// <summary>The bsdiff patch.</summary>
    public byte[]? Patch { get; private init; }

    /// <summary>Bytes this item adds to the part payload (blob).</summary>
    public long PayloadLength { get; private init; }

    public static DeltaItem ForMetadata(ObjectType type, Checksum checksum, byte[] bytes) =>
        new(DeltaItemKind.Metadata, type, checksum, bytes.Length) { MetadataBytes = bytes, PayloadLength = bytes.Length };

    public static DeltaItem ForContent(Checksum checksum, FileHeader header, long size) =>
        new(DeltaItemKind.Content, ObjectType.File, checksum, size)
        {
            Header = header,
            PayloadLength = header.IsSymlink ? Encoding.UTF8.GetByteCount(header.SymlinkTarget) : size,
        };

    public static DeltaItem ForRollsum(Checksum checksum, FileHeader header, long size, Checksum source, IReadOnlyList<RollsumMatch> matches)
    {
        long matched = 0;
        foreach (var m in matches)
        {
            matched += m.Length;
        }

        return new(DeltaItemKind.Rollsum, ObjectType.File, checksum, size)
        {
            Header = header,
            Source = source,
            Matches = matches,
            PayloadLength = Checksum.Length + (size - matched),
        };
    }

    public static DeltaItem ForBsdiff(Checksum checksum, FileHeader header, long size, Checksum source, byte[] patch) =>
        new(DeltaItemKind.Bsdiff, ObjectType.File, checksum, size)
        {
            Header = header,
            Source = source,
            Patch = patch,
            PayloadLength = Checksum.Length + (long)patch.Length,
        };
}
