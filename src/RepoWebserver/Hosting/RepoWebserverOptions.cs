namespace OstreeContainer.RepoWebserver.Hosting;

/// <summary>
/// Settings of the server, bound from the <c>RepoWebserver</c> configuration section
/// (appsettings.json, environment variables <c>RepoWebserver__Repo</c>…, or the command
/// line: <c>--repo</c>, <c>--object-map</c>, <c>--upstream</c>, <c>--port</c>,
/// <c>--cache-dir</c>), validated at start.
/// </summary>
public sealed class RepoWebserverOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "RepoWebserver";

    /// <summary>The repository to serve (any mode).</summary>
    public string Repo { get; set; } = "/ostree/repo";

    /// <summary>The object map to answer lookups from; default <c>object-map</c> next to the repo directory.</summary>
    public string? ObjectMap { get; set; }

    /// <summary>An OSTree remote URL to fetch absent repo files from.</summary>
    public string? Upstream { get; set; }

    /// <summary>Port to listen on (all interfaces) when no <c>--urls</c>/<c>ASPNETCORE_URLS</c> is given.</summary>
    public int Port { get; set; } = 8080;

    /// <summary>
    /// Where synthesised <c>.filez</c> of bare/bare-user repos are cached. The default is a
    /// folder of this process's own, so two servers on one host never share (or clear) one.
    /// </summary>
    public string CacheDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "repo-webserver-cache", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Disk budget of that cache, in bytes.</summary>
    public long CacheBudgetBytes { get; set; } = 1L << 30;

    /// <summary>Memory budget for small immutable files, in bytes.</summary>
    public long MemoryCacheBytes { get; set; } = 48L << 20;

    /// <summary>Log one JSON line per request.</summary>
    public bool RequestLogging { get; set; } = true;

    /// <summary>
    /// Handle each request on the socket event thread that saw it arrive, instead of
    /// handing it to the thread pool and its reply to a send thread (see
    /// <see cref="RepoWebserverHost"/>). Nothing a request does here blocks for long: files
    /// come from the page cache and transcoding runs on the thread pool.
    /// </summary>
    public bool InlineIo { get; set; } = true;

    /// <summary>Most simultaneous connections accepted.</summary>
    public int MaxConnections { get; set; } = 4096;

    /// <summary>Seconds to let in-flight requests finish after SIGTERM.</summary>
    public int ShutdownSeconds { get; set; } = 25;

    /// <summary>The object-map path after defaults.</summary>
    public string ObjectMapPath => ObjectMap ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(Repo).TrimEnd('/')) ?? "/", "object-map");

    /// <summary>Problems with the settings, one line each.</summary>
    public IEnumerable<string> Validate()
    {
        if (Port is < 0 or > 65535)
        {
            yield return $"port {Port} is not in 0..65535";
        }

        if (CacheBudgetBytes < 0 || MemoryCacheBytes < 0)
        {
            yield return "cache budgets must not be negative";
        }

        if (MaxConnections < 1)
        {
            yield return "max connections must be at least 1";
        }

        if (Upstream is not null && (!Uri.TryCreate(Upstream, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            yield return $"upstream '{Upstream}' is not an http(s) URL";
        }
    }
}
