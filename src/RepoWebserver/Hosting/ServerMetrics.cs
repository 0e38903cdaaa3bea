using System.Diagnostics;
using System.Diagnostics.Metrics;
using OstreeContainer.RepoWebserver.Serving;

namespace OstreeContainer.RepoWebserver.Hosting;

/// <summary>
/// The server's own instruments (meter <c>OstreeContainer.RepoWebserver</c>): requests and
/// bytes by route class (object, delta, ref, summary, config, object-map…) and status,
/// and request duration by route class. Recorded by the handlers themselves: the repo
/// path bypasses routing, so ASP.NET Core's per-route metrics would not name its classes.
/// </summary>
public sealed class ServerMetrics : IDisposable
{
    /// <summary>The meter name to enable in OpenTelemetry.</summary>
    public const string MeterName = "OstreeContainer.RepoWebserver";

    /// <summary>Route class names by <see cref="RepoFileKind"/>: <c>Enum.ToString</c> reflects and allocates on every call.</summary>
    private static readonly string[] KindNames = Enum.GetNames<RepoFileKind>();

    /// <summary>Status codes boxed once: a tag value is an object, and a pull records ten thousand of them.</summary>
    private static readonly object[] Statuses = [.. Enumerable.Range(0, 600).Select(status => (object)status)];

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _bytes;
    private readonly Histogram<double> _duration;

    public ServerMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _requests = _meter.CreateCounter<long>("repo_webserver.requests", "{request}", "Requests answered, by route class and status");
        _bytes = _meter.CreateCounter<long>("repo_webserver.response_bytes", "By", "Response body bytes, by route class");
        _duration = _meter.CreateHistogram<double>(
            "repo_webserver.request.duration",
            "s",
            "Time to answer a request, by route class",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    }

    /// <summary>Records how long one request of <paramref name="routeClass"/> took, from a <see cref="Stopwatch"/> timestamp.</summary>
    public void Duration(string routeClass, long startTimestamp) =>
        _duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("class", routeClass));

    /// <summary>Records one answered request.</summary>
    public void Request(RepoFileKind kind, int status, long bytes) => Request(ClassOf(kind), status, bytes);

    /// <summary>The route class name of a repo file kind.</summary>
    public static string ClassOf(RepoFileKind kind) => KindNames[(int)kind];

    /// <summary>Records one answered request of a named route class.</summary>
    public void Request(string routeClass, int status, long bytes)
    {
        var tags = new TagList { { "class", routeClass }, { "status", (uint)status < Statuses.Length ? Statuses[status] : status } };
        _requests.Add(1, tags);
        if (bytes > 0)
        {
            _bytes.Add(bytes, new KeyValuePair<string, object?>("class", routeClass));
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();
}
