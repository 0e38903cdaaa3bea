namespace OstreeContainer.RepoWebserver.ObjectMapApi;

/// <summary>
/// What the object-map API logs: each lookup failure it answers with an error status.
/// Event ids are stable (330-339 for this component). They answer the client's own
/// question (an unknown commit, a malformed argument), so they are Debug, not warnings.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(330, LogLevel.Debug, "object-map lookup answered {Status}: {Reason}", EventName = "LookupFailed")]
    public static partial void LookupFailed(ILogger logger, int status, string reason, Exception exception);

    [LoggerMessage(331, LogLevel.Debug, "object-map lookup answered 503: this server has no object map", EventName = "NoObjectMap")]
    public static partial void NoObjectMap(ILogger logger);
}
