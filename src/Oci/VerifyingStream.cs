using System.Security.Cryptography;

namespace OstreeContainer.Oci;

/// <summary>
/// The trust boundary for blob content: passes bytes through while hashing and counting
/// them, and throws <see cref="InvalidDataException"/> when the data runs past the
/// expected size, or when it ends with the wrong size or digest. Bytes handed out before
/// the end are unverified: consumers must not commit anything until a read returns 0.
/// </summary>
public sealed class VerifyingStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly IncrementalHash _hasher;
    private readonly Digest _expectedDigest;
    private readonly long _expectedSize;
    private readonly string _what;
    private long _read;
    private bool _verified;

    /// <summary>Wraps <paramref name="inner"/>, expecting exactly <paramref name="expectedSize"/> bytes hashing to <paramref name="expectedDigest"/>.</summary>
    /// <param name="what">Names the content in error messages (e.g. "blob sha256:…").</param>
    public VerifyingStream(Stream inner, Digest expectedDigest, long expectedSize, string? what = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedSize);
        if (expectedDigest.IsEmpty)
        {
            throw new ArgumentException("an expected digest is required", nameof(expectedDigest));
        }

        _inner = inner;
        _leaveOpen = leaveOpen;
        _expectedDigest = expectedDigest;
        _expectedSize = expectedSize;
        _what = what ?? $"blob {expectedDigest}";
        _hasher = expectedDigest.CreateHasher();
    }

    /// <summary>True once the whole content was read and matched.</summary>
    public bool IsVerified => _verified;

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <summary>The expected size.</summary>
    public override long Length => _expectedSize;

    /// <summary>Bytes read so far.</summary>
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        // Ask for one byte beyond the expected size so that excess data is seen.
        var limit = (int)Math.Min(buffer.Length, Math.Max(1, _expectedSize - _read + 1));
        var n = _inner.Read(buffer[..limit]);
        return Account(buffer[..n]);
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        var limit = (int)Math.Min(buffer.Length, Math.Max(1, _expectedSize - _read + 1));
        var n = await _inner.ReadAsync(buffer[..limit], cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span[..n]);
    }

    private int Account(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            if (!_verified)
            {
                Verify();
            }

            return 0;
        }

        _read += data.Length;
        if (_read > _expectedSize)
        {
            throw new InvalidDataException($"{_what}: more than the expected {_expectedSize} bytes");
        }

        _hasher.AppendData(data);
        return data.Length;
    }

    private void Verify()
    {
        if (_read != _expectedSize)
        {
            throw new InvalidDataException($"{_what}: {_read} bytes, expected {_expectedSize}");
        }

        var actual = Digest.FromHasher(_hasher);
        if (actual != _expectedDigest)
        {
            throw new InvalidDataException($"{_what}: content has digest {actual}, expected {_expectedDigest}");
        }

        _verified = true;
    }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hasher.Dispose();
            if (!_leaveOpen)
            {
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}
