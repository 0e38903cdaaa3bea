namespace OstreeContainer.RepoWebserver.Hosting;

/// <summary>What the host's own endpoints log. Event ids are stable (340-349 for this component).</summary>
internal static partial class Log
{
    // A Warning on every probe while it lasts: an orchestrator stops sending traffic, and the
    // operator should see why.
    [LoggerMessage(340, LogLevel.Warning, "not ready: {Reason}; /readyz answers 503", EventName = "NotReady")]
    public static partial void NotReady(ILogger logger, string reason);
}
