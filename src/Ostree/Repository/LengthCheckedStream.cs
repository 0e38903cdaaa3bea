using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Repository;

/// <summary>
/// Wraps decoded content and fails with <see cref="InvalidDataException"/> when it is
/// longer or shorter than the size its header declared, so a lying header can neither
/// truncate a file silently nor make a reader inflate without bound.
/// </summary>
internal sealed class LengthCheckedStream(Stream inner, long expected, Checksum checksum) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => expected;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        // Ask for at most one byte past the declared end: enough to detect overlong data.
        var want = (int)Math.Min(buffer.Length, expected - _position + 1);
        int n;
        try
        {
            n = inner.Read(buffer[..want]);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"file {checksum}: compressed content is corrupt: {e.Message}", e);
        }

        _position += n;
        if (_position > expected)
        {
            throw new InvalidDataException($"file {checksum}: content is longer than the declared {expected} bytes");
        }

        if (n == 0 && _position < expected)
        {
            throw new InvalidDataException($"file {checksum}: content ends at {_position} bytes, header declared {expected}");
        }

        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
