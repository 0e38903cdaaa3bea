using System.Diagnostics;
using System.Diagnostics.Metrics;
using OstreeContainer.RepoWebserver.Serving;

namespace OstreeContainer.RepoWebserver.Hosting;

/// <summary>
/// The server's own instruments (meter <c>OstreeContainer.RepoWebserver</c>): requests and
/// bytes by route class (object, delta, ref, summary, config, object-map…) and status.
/// Latency comes from ASP.NET Core's <c>http.server.request.duration</c>.
/// </summary>
public sealed class ServerMetrics : IDisposable
{
    /// <summary>The meter name to enable in OpenTelemetry.</summary>
    public const string MeterName = "OstreeContainer.RepoWebserver";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _bytes;

    public ServerMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _requests = _meter.CreateCounter<long>("repo_webserver.requests", "{request}", "Requests answered, by route class and status");
        _bytes = _meter.CreateCounter<long>("repo_webserver.response_bytes", "By", "Response body bytes, by route class");
    }

    /// <summary>Records one answered request.</summary>
    public void Request(RepoFileKind kind, int status, long bytes) => Request(kind.ToString(), status, bytes);

    /// <summary>Records one answered request of a named route class.</summary>
    public void Request(string routeClass, int status, long bytes)
    {
        var tags = new TagList { { "class", routeClass }, { "status", status } };
        _requests.Add(1, tags);
        if (bytes > 0)
        {
            _bytes.Add(bytes, new KeyValuePair<string, object?>("class", routeClass));
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();
}
