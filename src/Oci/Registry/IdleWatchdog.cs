namespace OstreeContainer.Oci.Registry;

/// <summary>
/// Cancels an HTTP exchange that moves no bytes for the idle timeout. A total timeout would
/// cut off a large blob on a slow link; a stall detector only fires when nothing happens.
/// Every read of a request or response body through a <see cref="WatchedStream"/> re-arms it.
/// </summary>
internal sealed class IdleWatchdog : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;
    private readonly TimeSpan _idle;

    public IdleWatchdog(TimeSpan idle, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        _idle = idle;
        _timer = new CancellationTokenSource(idle, timeProvider);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timer.Token);
    }

    /// <summary>Cancelled when the caller cancels or the exchange stalls.</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>True when the stall timer, not the caller, cancelled.</summary>
    public bool Fired => _timer.IsCancellationRequested;

    public TimeSpan Idle => _idle;

    /// <summary>Something moved: start the idle period again.</summary>
    public void Kick()
    {
        if (!_timer.IsCancellationRequested)
        {
            try
            {
                _timer.CancelAfter(_idle);
            }
            catch (ObjectDisposedException)
            {
                // A body read after the exchange ended; nothing left to watch.
            }
        }
    }

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}

/// <summary>
/// A read-only stream that re-arms an <see cref="IdleWatchdog"/> on every read and reports a
/// stall as <see cref="TimeoutException"/>. It may own the watchdog and the response it
/// reads from (for streams handed to callers).
/// </summary>
internal sealed class WatchedStream : Stream
{
    private readonly Stream _inner;
    private readonly IdleWatchdog _watchdog;
    private readonly IDisposable? _owned;
    private readonly CancellationTokenRegistration _abort;
    private readonly bool _ownsWatchdog;
    private long _remainingToSkip;

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

    public override int Read(Span<byte> buffer)
    {
        try
        {
            SkipPrefix(CancellationToken.None).GetAwaiter().GetResult();
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
            await SkipPrefix(linked.Token).ConfigureAwait(false);
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
    private async Task SkipPrefix(CancellationToken cancellationToken)
    {
        if (_remainingToSkip == 0)
        {
            return;
        }

        var scratch = new byte[64 * 1024];
        while (_remainingToSkip > 0)
        {
            _watchdog.Kick();
            var n = await _inner.ReadAsync(scratch.AsMemory(0, (int)Math.Min(scratch.Length, _remainingToSkip)), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new IOException("the blob ended before the requested offset");
            }

            _remainingToSkip -= n;
        }
    }

    private TimeoutException Stalled(Exception inner) =>
        new($"no data for {_watchdog.Idle.TotalSeconds:0} s", inner);
}
