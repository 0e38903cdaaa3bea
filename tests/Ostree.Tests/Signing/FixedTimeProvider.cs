namespace OstreeContainer.Ostree.Tests.Signing;

/// <summary>A clock stopped at one instant, to test expiry without waiting.</summary>
public sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
