using Microsoft.Extensions.Logging;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// Runs one registry operation until it succeeds, fails for good, or the retry budget is spent.
/// Each attempt starts from scratch with its own <see cref="IdleWatchdog"/>: the operation
/// rebuilds every request and reopens every body, so nothing is replayed. Whether a failure is
/// transient is decided by <see cref="RegistryErrors"/>; this class decides how often and how
/// long to wait (capped exponential backoff with jitter, or the registry's <c>Retry-After</c>).
/// </summary>
/// <remarks>
/// Retries are per operation, not per HTTP request: a blob push that breaks mid-upload starts
/// again with the existence check, so a blob that landed anyway is not sent twice.
/// </remarks>
internal sealed class RetryPolicy(RegistryClientOptions options)
{
    // Logged under the client's category: these are its events.
    private readonly ILogger _logger = options.LoggerFactory.CreateLogger<RegistryClient>();

    // Past 2^30 the doubling only risks overflow; MaxBackoff caps the delay long before.
    private const int MaxBackoffDoublings = 30;

    /// <summary>
    /// Runs <paramref name="attempt"/> until it returns, throws a final error, or
    /// <see cref="RegistryClientOptions.MaxRetries"/> retries have failed. Cancellation by the
    /// caller is never retried and surfaces as <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<T> RunAsync<T>(string what, RegistryScope scope, Func<IdleWatchdog, Task<T>> attempt, CancellationToken cancellationToken)
    {
        for (var retry = 0; ; retry++)
        {
            using var watchdog = new IdleWatchdog(options.IdleTimeout, options.TimeProvider, cancellationToken);
            RegistryException error;
            try
            {
                return await attempt(watchdog).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && RegistryErrors.Classify(e, what, scope, watchdog) is { } classified)
            {
                error = classified;
            }

            if (!error.IsTransient)
            {
                throw error;
            }

            var delay = error.RetryAfter ?? Backoff(retry);
            if (retry >= options.MaxRetries || delay > options.MaxRetryAfter)
            {
                var why = retry >= options.MaxRetries
                    ? $"gave up after {retry} {(retry == 1 ? "retry" : "retries")}"
                    : $"the registry asked to wait {delay.TotalSeconds:0} s";
                throw new RegistryException(error.Kind, $"{error.Message} ({why})", error)
                {
                    StatusCode = error.StatusCode,
                    ErrorCode = error.ErrorCode,
                };
            }

            Log.Retrying(_logger, error.Message, retry + 1, options.MaxRetries, delay.TotalSeconds, error);
            await Task.Delay(delay, options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>How long the registry asked us to wait: <c>Retry-After</c> is delta-seconds or an HTTP-date (RFC 9110 §10.2.3).</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider timeProvider)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private TimeSpan Backoff(int retry)
    {
        // Exponential with "equal jitter": half fixed, half random, so clients spread out.
        var ceiling = Math.Min(options.MaxBackoff.Ticks, options.InitialBackoff.Ticks * Math.Pow(2, Math.Min(retry, MaxBackoffDoublings)));
        return TimeSpan.FromTicks((long)(ceiling / 2 + (Random.Shared.NextDouble() * ceiling / 2)));
    }
}
