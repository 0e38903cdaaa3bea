using Yarp.ReverseProxy.Forwarder;

namespace OstreeContainer.RepoWebserver.Upstream;

/// <summary>What the upstream forwarder logs. Event ids are stable (320-329 for this component).</summary>
internal static partial class Log
{
    [LoggerMessage(320, LogLevel.Warning, "/repo/{Path}: upstream {Upstream} failed ({Error}); answering 502", EventName = "UpstreamFailed")]
    public static partial void UpstreamFailed(ILogger logger, string path, string upstream, ForwarderError error, Exception? exception);

    // The status and part of the body have gone out: only the connection can say it failed.
    [LoggerMessage(321, LogLevel.Warning, "/repo/{Path}: upstream {Upstream} failed after the response started ({Error}); connection aborted", EventName = "UpstreamFailedMidResponse")]
    public static partial void UpstreamFailedMidResponse(ILogger logger, string path, string upstream, ForwarderError error, Exception? exception);
}
