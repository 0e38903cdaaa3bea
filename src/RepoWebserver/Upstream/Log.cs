using Yarp.ReverseProxy.Forwarder;

namespace OstreeContainer.RepoWebserver.Upstream;

/// <summary>What the upstream forwarder logs. Event ids are stable (320-329 for this component).</summary>
internal static partial class Log
{
    // YARP logs the exception itself, with its stack, just before (Yarp.ReverseProxy.Forwarder.
    // HttpForwarder, event 48 "ForwardingError"); these say what the server answered, with the
    // exception's message, and do not repeat the stack.
    [LoggerMessage(320, LogLevel.Warning, "/repo/{Path}: upstream {Upstream} failed ({Error}: {Reason}); answering 502", EventName = "UpstreamFailed")]
    public static partial void UpstreamFailed(ILogger logger, string path, string upstream, ForwarderError error, string reason);

    // The status and part of the body have gone out: only the connection can say it failed.
    [LoggerMessage(
        321,
        LogLevel.Warning,
        "/repo/{Path}: upstream {Upstream} failed after the response started ({Error}: {Reason}); connection aborted",
        EventName = "UpstreamFailedMidResponse")]
    public static partial void UpstreamFailedMidResponse(ILogger logger, string path, string upstream, ForwarderError error, string reason);
}
