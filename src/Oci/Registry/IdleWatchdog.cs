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
