using System.Net;
using OstreeContainer.RepoWebserver.Serving;
using Yarp.ReverseProxy.Forwarder;

namespace OstreeContainer.RepoWebserver.Upstream;

/// <summary>
/// Forwards requests for allowed repo files that are absent locally to an upstream OSTree
/// remote (YARP direct forwarding), so a partial repo still serves a complete one. Only
/// paths that passed <see cref="RepoPath"/> are ever forwarded; the upstream URL is the
/// remote's base (the URL one would give <c>ostree remote add</c>).
/// </summary>
public sealed class UpstreamForwarder
{
    private readonly IHttpForwarder _forwarder;
    private readonly ILogger<UpstreamForwarder> _logger;
    private readonly HttpMessageInvoker _client;
    private readonly string _base;
    private readonly ForwarderRequestConfig _config = new() { ActivityTimeout = TimeSpan.FromSeconds(60) };

    /// <summary>Forwards to <paramref name="upstream"/>; failures, answered 502, are logged to <paramref name="logger"/>.</summary>
    public UpstreamForwarder(IHttpForwarder forwarder, Uri upstream, ILogger<UpstreamForwarder> logger)
    {
        ArgumentNullException.ThrowIfNull(forwarder);
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(logger);
        _forwarder = forwarder;
        _logger = logger;
        _base = upstream.ToString().TrimEnd('/') + "/";
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(15),
        });
    }

    /// <summary>The upstream base URL.</summary>
    public string BaseUrl => _base;

    /// <summary>Forwards the request for <paramref name="path"/>; a failure to reach the upstream answers 502.</summary>
    public async Task ForwardAsync(HttpContext context, RepoPath path)
    {
        ArgumentNullException.ThrowIfNull(context);
        var error = await _forwarder.SendAsync(context, _base, _client, _config, new PathTransformer(_base + path.Relative)).ConfigureAwait(false);
        if (error == ForwarderError.None)
        {
            return;
        }

        var reason = context.GetForwarderErrorFeature()?.Exception?.Message ?? "no exception";
        if (context.Response.HasStarted)
        {
            // YARP has aborted the connection already.
            Log.UpstreamFailedMidResponse(_logger, path.Relative, _base, error, reason);
            return;
        }

        Log.UpstreamFailed(_logger, path.Relative, _base, error, reason);
        context.Response.StatusCode = StatusCodes.Status502BadGateway;
    }

    /// <summary>Sends to exactly the upstream file, whatever the local prefix.</summary>
    private sealed class PathTransformer(string target) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await Default.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
            proxyRequest.RequestUri = new Uri(target);
            // The upstream must see its own host, not ours.
            proxyRequest.Headers.Host = null;
        }
    }
}
