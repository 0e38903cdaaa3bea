using System.Security.Cryptography;
using OstreeContainer.Oci.Images;

namespace OstreeContainer.Oci.Layout;

/// <summary>
/// A blob being written into an <see cref="ImageLayout"/>: bytes go to a temp file under
/// <c>blobs/</c> and are hashed on the way. <see cref="Commit"/> fsyncs and renames it to
/// its content address; disposing without committing deletes it, so an interrupted write
/// leaves nothing a reader could mistake for content.
/// </summary>
public sealed class StagedBlob : IDisposable
{
    private readonly ImageLayout _layout;
    private readonly string _tempPath;
    private readonly FileStream _file;
    private readonly HashingStream _stream;
    private bool _done;

    internal StagedBlob(ImageLayout layout)
    {
        _layout = layout;
        _tempPath = layout.NewTempPath();
        _file = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 64 * 1024);
        _stream = new HashingStream(_file);
    }

    /// <summary>Where the blob's bytes are written. Write-only; do not dispose it (dispose the blob).</summary>
    public Stream Stream => _stream;

    /// <summary>Bytes written so far.</summary>
    public long Length => _stream.Count;

    /// <summary>
    /// Finishes the blob: fsync, then rename to <c>blobs/sha256/&lt;hex&gt;</c>. When that
    /// blob already exists the existing file is kept (same digest, same content).
    /// </summary>
    /// <param name="mediaType">The descriptor's media type.</param>
    /// <param name="expected">When given, the digest the content must have.</param>
    /// <param name="annotations">The descriptor's annotations.</param>
    /// <exception cref="InvalidDataException">The content does not have <paramref name="expected"/>; nothing is kept.</exception>
    public Descriptor Commit(string mediaType, Digest? expected = null, SortedDictionary<string, string>? annotations = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(mediaType);
        ObjectDisposedException.ThrowIf(_done, this);
        _done = true;
        try
        {
            _file.Flush(flushToDisk: true);
            _file.Dispose();
            var digest = Digest.FromHasher(_stream.Hasher);
            if (expected is { } want && want != digest)
            {
                throw new InvalidDataException($"blob written to '{_layout.Directory}' has digest {digest}, expected {want}");
            }

            var target = _layout.BlobPath(digest);
            if (File.Exists(target))
            {
                File.Delete(_tempPath);
            }
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                try
                {
                    File.Move(_tempPath, target, overwrite: false);
                }
                catch (IOException) when (File.Exists(target))
                {
                    // Another writer committed the same content first.
                    File.Delete(_tempPath);
                }
            }

            return new Descriptor { MediaType = mediaType, Digest = digest, Size = _stream.Count, Annotations = annotations };
        }
        catch
        {
            Abandon();
            throw;
        }
    }

    /// <summary>Abandons the blob unless committed: the temp file is deleted.</summary>
    public void Dispose()
    {
        if (!_done)
        {
            _done = true;
            Abandon();
        }

        _stream.Hasher.Dispose();
    }

    private void Abandon()
    {
        _file.Dispose();
        File.Delete(_tempPath);
    }

    private sealed class HashingStream(FileStream file) : Stream
    {
        public IncrementalHash Hasher { get; } = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public long Count { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Count;

        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Hasher.AppendData(buffer);
            file.Write(buffer);
            Count += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Hasher.AppendData(buffer.Span);
            await file.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            Count += buffer.Length;
        }

        public override void WriteByte(byte value) => Write([value]);

        public override void Flush() => file.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
