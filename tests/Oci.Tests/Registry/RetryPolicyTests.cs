using System.Globalization;
using System.Net;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Oci.Tests.Registry;

public class RetryPolicyTests
{
    private static readonly RegistryScope Scope =
        RegistryScope.For(ImageReference.Parse("docker://registry.example/test/app:v1"), push: false, extra: null, _ => null);

    [Fact]
    public void RetryAfter_DeltaSecondsAndHttpDate_BothHonoured()
    {
        var now = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var clock = new FixedClock(now);
        using var delta = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        delta.Headers.TryAddWithoutValidation("Retry-After", "7");
        using var date = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        date.Headers.TryAddWithoutValidation("Retry-After", now.AddSeconds(42).ToString("r", CultureInfo.InvariantCulture));
        using var past = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        past.Headers.TryAddWithoutValidation("Retry-After", now.AddSeconds(-5).ToString("r", CultureInfo.InvariantCulture));
        using var none = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);

        Assert.Equal(TimeSpan.FromSeconds(7), RetryPolicy.RetryAfter(delta, clock));
        Assert.Equal(TimeSpan.FromSeconds(42), RetryPolicy.RetryAfter(date, clock));
        Assert.Equal(TimeSpan.Zero, RetryPolicy.RetryAfter(past, clock));
        Assert.Null(RetryPolicy.RetryAfter(none, clock));
    }

    [Fact]
    public async Task RunAsync_TransientTwiceThenOk_ThreeAttemptsEachWithItsOwnWatchdog()
    {
        var log = new List<string>();
        var watchdogs = new List<IdleWatchdog>();
        var policy = new RetryPolicy(FastOptions(log) with { MaxRetries = 3 });

        var result = await policy.RunAsync("getting x from", Scope, watchdog =>
        {
            watchdogs.Add(watchdog);
            return watchdogs.Count <= 2
                ? throw new RegistryException(RegistryErrorKind.Server, "getting x from registry.example/test/app: registry failed") { IsTransient = true }
                : Task.FromResult(42);
        }, TestContext.Current.CancellationToken);

        Assert.Equal(42, result);
        Assert.Equal(3, watchdogs.Distinct().Count());
        Assert.Equal(["retry 1 of 3", "retry 2 of 3"], log.Select(line => line[(line.IndexOf("retry", StringComparison.Ordinal))..line.IndexOf(" in ", StringComparison.Ordinal)]));
    }

    [Fact]
    public async Task RunAsync_FinalError_ThrownAtOnce()
    {
        var attempts = 0;
        var policy = new RetryPolicy(FastOptions([]));

        var error = await Assert.ThrowsAsync<RegistryException>(() => policy.RunAsync<int>("getting x from", Scope, _ =>
        {
            attempts++;
            throw new RegistryException(RegistryErrorKind.NotFound, "not found");
        }, TestContext.Current.CancellationToken));

        Assert.Equal(1, attempts);
        Assert.Equal("not found", error.Message);
    }

    [Fact]
    public async Task RunAsync_CallerBug_SurfacesUnchangedWithoutRetry()
    {
        var attempts = 0;
        var policy = new RetryPolicy(FastOptions([]));

        await Assert.ThrowsAsync<ArgumentException>(() => policy.RunAsync<int>("getting x from", Scope, _ =>
        {
            attempts++;
            throw new ArgumentException("bad descriptor");
        }, TestContext.Current.CancellationToken));

        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task RunAsync_BrokenConnectionUntilBudgetSpent_UnreachableNamingRetries()
    {
        var attempts = 0;
        var policy = new RetryPolicy(FastOptions([]) with { MaxRetries = 2 });

        var error = await Assert.ThrowsAsync<RegistryException>(() => policy.RunAsync<int>("getting x from", Scope, _ =>
        {
            attempts++;
            throw new IOException("reset by peer");
        }, TestContext.Current.CancellationToken));

        Assert.Equal(3, attempts);
        Assert.Equal(RegistryErrorKind.Unreachable, error.Kind);
        Assert.Equal(
            "getting x from registry.example/test/app: connection to registry.example broke (reset by peer) (gave up after 2 retries)",
            error.Message);
    }

    [Fact]
    public async Task RunAsync_RetryAfterBeyondLimit_GivesUpWithoutWaiting()
    {
        var attempts = 0;
        var policy = new RetryPolicy(FastOptions([]) with { MaxRetryAfter = TimeSpan.FromSeconds(10) });

        var error = await Assert.ThrowsAsync<RegistryException>(() => policy.RunAsync<int>("getting x from", Scope, _ =>
        {
            attempts++;
            throw new RegistryException(RegistryErrorKind.TooManyRequests, "too many requests")
            {
                IsTransient = true,
                RetryAfter = TimeSpan.FromMinutes(5),
            };
        }, TestContext.Current.CancellationToken));

        Assert.Equal(1, attempts);
        Assert.Equal(RegistryErrorKind.TooManyRequests, error.Kind);
        Assert.Equal("too many requests (the registry asked to wait 300 s)", error.Message);
    }

    private static RegistryClientOptions FastOptions(List<string> log) => new()
    {
        InitialBackoff = TimeSpan.FromMilliseconds(1),
        MaxBackoff = TimeSpan.FromMilliseconds(2),
        LoggerFactory = new TestLogs(log.Add),
    };

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
