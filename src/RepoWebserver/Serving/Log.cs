namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>
/// What the repo file handler logs: every failure it turns into a status code. Event ids
/// are stable (300-319 for this component). A corrupt object or an unreadable repository
/// is the operator's problem (Warning); a file that vanished under a request is routine.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(300, LogLevel.Warning, "/repo/{Path}: not serving a corrupt object; answering 404", EventName = "CorruptObject")]
    public static partial void CorruptObject(ILogger logger, string path, Exception exception);

    [LoggerMessage(
        301,
        LogLevel.Warning,
        "cannot generate a summary for {Repo}; answering 404 for /repo/summary, so clients read refs/heads instead",
        EventName = "SummaryGenerationFailed")]
    public static partial void SummaryGenerationFailed(ILogger logger, string repo, Exception exception);

    [LoggerMessage(302, LogLevel.Debug, "/repo/{Path}: vanished between resolving and sending; resolving again", EventName = "FileVanished")]
    public static partial void FileVanished(ILogger logger, string path, Exception exception);

    [LoggerMessage(303, LogLevel.Information, "/repo/{Path}: gone when resolved again; answering 404", EventName = "FileGone")]
    public static partial void FileGone(ILogger logger, string path);

    [LoggerMessage(304, LogLevel.Warning, "{File}: ended before the {Length} bytes promised were sent (truncated while being sent); connection aborted", EventName = "FileTruncated")]
    public static partial void FileTruncated(ILogger logger, string file, long length);
}
