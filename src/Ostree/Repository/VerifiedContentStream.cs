using System.Security.Cryptography;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Repository;

/// <summary>
/// A content object's bytes, read once, with its checksum recomputed on the way: the
/// read that reaches the end throws <see cref="InvalidDataException"/> when the header and
/// content do not hash to the object's name. A caller that stops early has verified
/// nothing.
/// </summary>
public sealed class VerifiedContentStream : Stream
{
    private readonly ContentObject _content;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _remaining;
    private bool _verified;

    /// <summary>Wraps <paramref name="content"/>, which this stream then owns.</summary>
    public VerifiedContentStream(ContentObject content)
    {
        ArgumentNullException.ThrowIfNull(content);
        _content = content;
        _remaining = content.Size;
        using var writer = new GVariantWriter(512);
        content.Header.WriteContentHeader(writer);
        _hash.AppendData(writer.WrittenSpan);
        if (_remaining == 0)
        {
            Verify();
        }
    }

    /// <summary>The object being read.</summary>
    public ContentObject Object => _content;

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanWrite => false;

    /// <inheritdoc/>
    public override long Length => _content.Size;

    /// <inheritdoc/>
    public override long Position
    {
        get => _content.Size - _remaining;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        if (_remaining == 0)
        {
            return 0;
        }

        var n = _content.Content.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        if (n == 0)
        {
            throw new InvalidDataException($"file {_content.Checksum}: content ends {_remaining} bytes early");
        }

        _hash.AppendData(buffer[..n]);
        _remaining -= n;
        if (_remaining == 0)
        {
            Verify();
        }

        return n;
    }

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _content.Dispose();
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Verify()
    {
        if (_verified)
        {
            return;
        }

        _verified = true;
        var actual = Checksum.From(_hash);
        if (actual != _content.Checksum)
        {
            throw new InvalidDataException($"file {_content.Checksum} is corrupt: its header and content hash to {actual}");
        }
    }
}
