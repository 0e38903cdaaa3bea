using System.Buffers;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// A read-only stream that re-arms an <see cref="IdleWatchdog"/> on every read and reports a
/// stall as <see cref="TimeoutException"/>. It may own the watchdog and the response it
/// reads from (for streams handed to callers).
/// </summary>
internal sealed class WatchedStream : Stream
{
    private const int SkipBufferBytes = 64 * 1024;

    private readonly Stream _inner;
    private readonly IdleWatchdog _watchdog;
    private readonly IDisposable? _owned;
    private readonly CancellationTokenRegistration _abort;
    private readonly bool _ownsWatchdog;
    private long _remainingToSkip;

    /// <param name="inner">The body to read.</param>
    /// <param name="watchdog">Re-armed by every read; its token cancels asynchronous reads.</param>
    /// <param name="owned">Disposed with this stream, and when the watchdog fires (which is what unblocks a synchronous read).</param>
    /// <param name="ownsWatchdog">Dispose <paramref name="watchdog"/> with this stream.</param>
    /// <param name="skip">Bytes of <paramref name="inner"/> to drop before the first byte returned.</param>
    public WatchedStream(Stream inner, IdleWatchdog watchdog, IDisposable? owned = null, bool ownsWatchdog = false, long skip = 0)
    {
        _inner = inner;
        _watchdog = watchdog;
        _owned = owned;
        _ownsWatchdog = ownsWatchdog;
        _remainingToSkip = skip;

        // A sync read cannot take a token; closing the source is what unblocks it.
        _abort = owned is null ? default : watchdog.Token.Register(static state => ((IDisposable)state!).Dispose(), owned);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    // Synchronous all the way: a stall or the caller's cancellation disposes the owned
    // response (see the constructor), which makes the blocked inner read throw.
    public override int Read(Span<byte> buffer)
    {
        try
        {
            SkipPrefix();
            _watchdog.Kick();
            var n = _inner.Read(buffer);
            _watchdog.Kick();
            return n;
        }
        catch (Exception e) when (_watchdog.Fired && e is not TimeoutException)
        {
            throw Stalled(e);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _watchdog.Token);
        try
        {
            await SkipPrefixAsync(linked.Token).ConfigureAwait(false);
            _watchdog.Kick();
            var n = await _inner.ReadAsync(buffer, linked.Token).ConfigureAwait(false);
            _watchdog.Kick();
            return n;
        }
        catch (Exception e) when (_watchdog.Fired && !cancellationToken.IsCancellationRequested && e is not TimeoutException)
        {
            throw Stalled(e);
        }
    }

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
            _abort.Dispose();
            _inner.Dispose();
            _owned?.Dispose();
            if (_ownsWatchdog)
            {
                _watchdog.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    // A server that ignores Range sends the whole blob; drop what the caller already has.
    // SkipPrefix and SkipPrefixAsync are the same loop, one for each kind of read.
    private void SkipPrefix()
    {
        if (_remainingToSkip == 0)
        {
            return;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(SkipBufferBytes);
        try
        {
            while (_remainingToSkip > 0)
            {
                _watchdog.Kick();
                Skipped(_inner.Read(scratch, 0, NextSkip(scratch)));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private async ValueTask SkipPrefixAsync(CancellationToken cancellationToken)
    {
        if (_remainingToSkip == 0)
        {
            return;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(SkipBufferBytes);
        try
        {
            while (_remainingToSkip > 0)
            {
                _watchdog.Kick();
                Skipped(await _inner.ReadAsync(scratch.AsMemory(0, NextSkip(scratch)), cancellationToken).ConfigureAwait(false));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private int NextSkip(byte[] scratch) => (int)Math.Min(scratch.Length, _remainingToSkip);

    private void Skipped(int n)
    {
        if (n == 0)
        {
            throw new IOException("the blob ended before the requested offset");
        }

        _remainingToSkip -= n;
    }

    private TimeoutException Stalled(Exception inner) =>
        new($"no data for {_watchdog.Idle.TotalSeconds:0} s", inner);
}
