using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Repository;

/// <summary>
/// A content object read from any repository mode, in one shape: its header (owner, mode,
/// xattrs, symlink target) and a stream of the file's bytes (empty for symlinks). The
/// stream is decoded (archive <c>.filez</c> inflated) but not verified; <see cref="OstreeRepo"/>
/// callers that need trust recompute the checksum.
/// </summary>
public sealed class ContentObject : IDisposable
{
    private readonly Stream _content;

    internal ContentObject(Checksum checksum, FileHeader header, long size, Stream content)
    {
        Checksum = checksum;
        Header = header;
        Size = size;
        _content = content;
    }

    /// <summary>The object's name (claimed checksum).</summary>
    public Checksum Checksum { get; }

    /// <summary>Owner, mode, xattrs and symlink target.</summary>
    public FileHeader Header { get; }

    /// <summary>Length of the content in bytes (0 for symlinks).</summary>
    public long Size { get; }

    /// <summary>The file content; read it once.</summary>
    public Stream Content => _content;

    /// <inheritdoc/>
    public void Dispose() => _content.Dispose();
}
