namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>
/// One servable file: either on disk (sent with <c>sendfile</c>) or in memory (small
/// immutable objects, synthesised config and summary), with its validators.
/// </summary>
public sealed class RepoFile
{
    private RepoFile(string? physicalPath, ReadOnlyMemory<byte> bytes, long length, string etag, DateTimeOffset lastModified, string cacheControl)
    {
        PhysicalPath = physicalPath;
        Bytes = bytes;
        Length = length;
        ETag = etag;
        LastModified = lastModified;
        LastModifiedText = lastModified.ToString("r", System.Globalization.CultureInfo.InvariantCulture);
        CacheControl = cacheControl;
    }

    /// <summary><see cref="LastModified"/> as an HTTP date, formatted once.</summary>
    public string LastModifiedText { get; }

    /// <summary>Path to send from disk, or null when <see cref="Bytes"/> holds the content.</summary>
    public string? PhysicalPath { get; }

    /// <summary>The content, when held in memory.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>Length in bytes.</summary>
    public long Length { get; }

    /// <summary>Strong entity tag, quoted.</summary>
    public string ETag { get; }

    /// <summary>Modification time, truncated to whole seconds (HTTP dates have no fractions).</summary>
    public DateTimeOffset LastModified { get; }

    /// <summary>The Cache-Control value to send.</summary>
    public string CacheControl { get; }

    /// <summary>Repeat requests answered from this entry while on disk (see <c>RepoFileStore.Promote</c>).</summary>
    internal int Hits;

    /// <summary>A file on disk; the ETag derives from inode, size and modification time, as nginx's does.</summary>
    public static RepoFile OnDisk(string path, long length, ulong inode, DateTimeOffset modified, string cacheControl) =>
        new(path, default, length, $"\"{inode:x}-{length:x}-{modified.ToUnixTimeMilliseconds():x}\"", Truncate(modified), cacheControl);

    /// <summary>Content in memory with a caller-chosen strong ETag.</summary>
    public static RepoFile InMemory(ReadOnlyMemory<byte> bytes, string etag, DateTimeOffset modified, string cacheControl) =>
        new(null, bytes, bytes.Length, etag, Truncate(modified), cacheControl);

    /// <summary>The same file held in memory (for the small-object cache).</summary>
    public RepoFile WithBytes(byte[] bytes) => new(null, bytes, bytes.Length, ETag, LastModified, CacheControl);

    private static DateTimeOffset Truncate(DateTimeOffset t) => DateTimeOffset.FromUnixTimeSeconds(t.ToUnixTimeSeconds());
}
