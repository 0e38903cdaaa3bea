using OpenTelemetry;
using OpenTelemetry.Metrics;
using OstreeContainer.ObjectMap;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.RepoWebserver.ObjectMapApi;
using OstreeContainer.RepoWebserver.Serving;
using OstreeContainer.RepoWebserver.Upstream;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Yarp.ReverseProxy.Forwarder;

namespace OstreeContainer.RepoWebserver.Hosting;

/// <summary>
/// Builds the web application: options, Kestrel limits, Serilog JSON logs, OpenTelemetry
/// metrics (Prometheus at <c>/metrics</c>, OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is
/// set), health endpoints, the repo file handler and the upstream forwarder. Used by the
/// <c>repo-webserver</c> executable and by <c>ostree-container serve</c>.
/// </summary>
public static class RepoWebserverHost
{
    /// <summary>The logger ASP.NET Core's hosting layer writes request start and finish to.</summary>
    private const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    // Kestrel limits. The server answers GET and HEAD for short paths (the longest, a static
    // delta part, is under 200 bytes) from ostree's libcurl and from probes; anything much
    // larger is not a client of ours.

    /// <summary>
    /// Request body bytes accepted (Kestrel's default is 30 MB): nothing here reads a body,
    /// so a client cannot make the server drain megabytes it will discard.
    /// </summary>
    internal const long MaxRequestBodyBytes = 64 * 1024;

    /// <summary>Request line bytes: a repo path with any query fits many times over. Kestrel's default, stated.</summary>
    internal const int MaxRequestLineBytes = 8 * 1024;

    /// <summary>All request headers together: libcurl sends a few hundred bytes. Kestrel's default, stated.</summary>
    internal const int MaxRequestHeadersBytes = 32 * 1024;

    /// <summary>Upgraded (WebSocket, HTTP/2 CONNECT) connections: none, nothing here speaks anything but plain requests.</summary>
    internal const int MaxUpgradedConnections = 0;

    /// <summary>Time to receive a request's headers, so a client that trickles them cannot hold a connection. Kestrel's default, stated.</summary>
    internal static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an idle keep-alive connection stays open: longer than a pull's pauses between
    /// fetch rounds (verifying a commit, staging objects), so a pull reuses its connections;
    /// short enough that abandoned ones go. Kestrel's default is 130 s.
    /// </summary>
    internal static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromMinutes(2);

    private static readonly Dictionary<string, string> SwitchMappings = new(StringComparer.Ordinal)
    {
        ["--repo"] = $"{RepoWebserverOptions.Section}:Repo",
        ["--object-map"] = $"{RepoWebserverOptions.Section}:ObjectMap",
        ["--upstream"] = $"{RepoWebserverOptions.Section}:Upstream",
        ["--port"] = $"{RepoWebserverOptions.Section}:Port",
        ["--cache-dir"] = $"{RepoWebserverOptions.Section}:CacheDirectory",
        ["--cache-budget"] = $"{RepoWebserverOptions.Section}:CacheBudgetBytes",
        ["--request-logging"] = $"{RepoWebserverOptions.Section}:RequestLogging",
        ["--inline-io"] = $"{RepoWebserverOptions.Section}:InlineIo",
    };

    /// <summary>The runtime's switch for running socket completions on its event threads.</summary>
    internal const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Builds the application from command-line arguments. Configuration problems and an
    /// unopenable repo throw <see cref="StartupException"/> with one clear line. Pass
    /// <paramref name="ownsProcess"/> only from a process that does nothing but serve: it
    /// then also switches the process's sockets to inline completions (see
    /// <see cref="EnableInlineSocketCompletions"/>).
    /// </summary>
    public static WebApplication Build(string[] args, bool ownsProcess = false) => Build(args, ownsProcess, configureLogging: null);

    /// <summary>
    /// <see cref="Build(string[], bool)"/>, with <paramref name="configureLogging"/> applied
    /// to the Serilog configuration last (tests add a sink there to read what the server logs).
    /// </summary>
    internal static WebApplication Build(string[] args, bool ownsProcess, Action<LoggerConfiguration>? configureLogging)
    {
        // The content root (where appsettings.json is read) is the executable's folder, not the
        // working directory, and configuration files are not watched: a reload watcher adds an
        // inotify watch for every directory below the content root, which from a container's
        // "/" walked the whole filesystem before the first request was served.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [.. args, "--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT") ?? AppContext.BaseDirectory,
        });
        builder.Configuration.AddCommandLine(args, SwitchMappings);

        var options = new RepoWebserverOptions();
        try
        {
            builder.Configuration.GetSection(RepoWebserverOptions.Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // A value of the wrong type ("--port abc", "--inline-io maybe"): the binder's
            // message names the setting and the value.
            throw new StartupException(e.Message, e);
        }

        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new StartupException(string.Join("; ", problems));
        }

        OstreeRepo repo;
        try
        {
            repo = OstreeRepo.Open(options.Repo);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new StartupException($"cannot serve {options.Repo}: {e.Message}");
        }

        var objectMap = OpenObjectMap(options);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls($"http://*:{options.Port}");
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = options.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = MaxUpgradedConnections;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestLineSize = MaxRequestLineBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = MaxRequestHeadersBytes;
            kestrel.Limits.RequestHeadersTimeout = RequestHeadersTimeout;
            kestrel.Limits.KeepAliveTimeout = KeepAliveTimeout;
        });
        builder.WebHost.UseSockets(sockets =>
        {
            sockets.UnsafePreferInlineScheduling = options.InlineIo;
            // By default each receive is preceded by a zero-byte one that waits for data
            // before a buffer is rented: one more system call per request, and an EAGAIN
            // for every one that finds the socket empty. A buffer for each idle keep-alive
            // connection costs at most 4 KiB times MaxConnections.
            sockets.WaitForDataBeforeAllocatingBuffer = false;
        });
        if (options.InlineIo && ownsProcess)
        {
            EnableInlineSocketCompletions();
        }

        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownSeconds));

        // Each application keeps its own logger (disposed, and so flushed, with it) instead of
        // installing it as Serilog's static Log.Logger: applications in one process (the tests,
        // an embedding host) would otherwise write through whichever was built last, and the
        // first one disposed would silence the rest.
        builder.Services.AddSerilog(
            (_, logger) =>
            {
                logger
                    .MinimumLevel.Information()
                    .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                    .MinimumLevel.Override("Microsoft.Hosting", LogEventLevel.Information)
                    .Enrich.FromLogContext()
                    .WriteTo.Async(sink => sink.Console(new CompactJsonFormatter()));
                if (!options.RequestLogging)
                {
                    // While this logger is enabled at any level, ASP.NET Core starts an Activity and a
                    // log scope for every request, only for the request log lines to carry their ids.
                    // Without those lines nothing reads them.
                    logger.MinimumLevel.Override(HostingDiagnosticsCategory, LevelAlias.Off);
                }

                configureLogging?.Invoke(logger);
            },
            preserveStaticLogger: true);

        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(ServerMetrics.MeterName, "Microsoft.AspNetCore.Server.Kestrel")
                .AddPrometheusExporter());
        if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // Traces only when they go somewhere: a listener makes every request allocate an Activity.
            otel.WithTracing(tracing => tracing.AddSource("Microsoft.AspNetCore"));
            otel.UseOtlpExporter();
        }

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(repo);
        if (objectMap is not null)
        {
            builder.Services.AddSingleton(objectMap);
        }

        builder.Services.AddSingleton<ServerMetrics>();
        // Made by the container, so that it is disposed (with the directories it holds open) at shutdown.
        // Loggers come from the factory, not as ILogger<T> services: under NativeAOT the
        // container would build each Logger<T> type at run time (see rd.xml).
        builder.Services.AddSingleton(sp => new RepoFileStore(
            repo,
            new RepoFileStoreOptions
            {
                MemoryCacheBudget = options.MemoryCacheBytes,
                TranscodeCacheDirectory = options.CacheDirectory,
                TranscodeCacheBudget = options.CacheBudgetBytes,
            },
            sp.GetRequiredService<ILoggerFactory>()));
        if (options.Upstream is { } upstream)
        {
            builder.Services.AddHttpForwarder();
            builder.Services.AddSingleton(sp => new UpstreamForwarder(
                sp.GetRequiredService<IHttpForwarder>(), new Uri(upstream), sp.GetRequiredService<ILoggerFactory>().CreateLogger<UpstreamForwarder>()));
        }

        builder.Services.AddSingleton(sp => new RepoRequestHandler(
            sp.GetRequiredService<RepoFileStore>(),
            // Registered only with --upstream.
            sp.GetService<UpstreamForwarder>(),
            sp.GetRequiredService<ServerMetrics>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<RepoRequestHandler>()));

        var app = builder.Build();
        if (options.RequestLogging)
        {
            // Its default is the static logger, which this application leaves alone (see AddSerilog).
            var requestLogger = app.Services.GetRequiredService<Serilog.ILogger>();
            app.UseSerilogRequestLogging(requestLogging => requestLogging.Logger = requestLogger);
        }

        if (string.IsNullOrEmpty(builder.Configuration[$"{RepoWebserverOptions.Section}:CacheDirectory"]))
        {
            // The default cache folder is this process's own; nothing else will clear it.
            app.Lifetime.ApplicationStopped.Register(() =>
            {
                try
                {
                    Directory.Delete(options.CacheDirectory, recursive: true);
                }
                catch (IOException)
                {
                }
            });
        }

        var handler = app.Services.GetRequiredService<RepoRequestHandler>();
        // The repo handler runs before routing: it is the hot path and needs no endpoint metadata.
        app.Use((context, next) => context.Request.Path.StartsWithSegments(RepoRequestHandler.Prefix, StringComparison.Ordinal)
            ? handler.HandleAsync(context)
            : next(context));
        // Routing only after it: without this call WebApplication puts routing first.
        app.UseRouting();
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        var hostLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RepoWebserverHost));
        app.MapGet("/readyz", (RepoFileStore store) => Readiness(store, objectMap, hostLogger));
        app.MapObjectMapApi(objectMap, app.Services.GetRequiredService<ServerMetrics>());
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    /// <summary>Answers <c>/readyz</c>: 200 while the repo's objects and the object map (when served) are there.</summary>
    private static IResult Readiness(RepoFileStore store, ObjectMapReader? objectMap, Microsoft.Extensions.Logging.ILogger logger)
    {
        string? problem = null;
        if (!Directory.Exists(Path.Combine(store.Repo.Root, "objects")))
        {
            problem = $"repository {store.Repo.Root} has no objects directory";
        }
        else if (objectMap is not null && !File.Exists(objectMap.Path))
        {
            problem = $"object map {objectMap.Path} is gone";
        }

        if (problem is null)
        {
            return Results.Text("ready\n");
        }

        Log.NotReady(logger, problem);
        return Results.Text("repository or object map unavailable\n", statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>
    /// Opens the object map: a configured path must exist; the default one (next to the
    /// repo) is optional, and without it the object-map API answers 503.
    /// </summary>
    private static ObjectMapReader? OpenObjectMap(RepoWebserverOptions options)
    {
        var path = options.ObjectMapPath;
        if (options.ObjectMap is null && !File.Exists(path))
        {
            return null;
        }

        try
        {
            return ObjectMapReader.Open(path);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new StartupException($"cannot open object map {path}: {e.Message}");
        }
    }

    /// <summary>Runs the server until SIGINT/SIGTERM; returns the process exit code.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter error, CancellationToken cancellationToken = default) =>
        RunAsync(args, error, ownsProcess: false, cancellationToken);

    /// <summary>
    /// Runs the server until SIGINT/SIGTERM; returns the process exit code.
    /// <paramref name="ownsProcess"/> as for <see cref="Build(string[], bool)"/>.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter error, bool ownsProcess, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        WebApplication app;
        try
        {
            app = Build(args, ownsProcess);
        }
        catch (StartupException e)
        {
            await error.WriteLineAsync($"repo-webserver: error: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        try
        {
            await app.RunAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }
        catch (IOException e)
        {
            // Typically the port is in use.
            await error.WriteLineAsync($"repo-webserver: error: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Lets the socket layer run completions on its event threads (one per core), so with
    /// Kestrel's inline scheduling a request is read, answered and sent on one thread.
    /// <c>ostree pull</c> keeps few requests in flight, and each used to wake a thread-pool
    /// worker and then Kestrel's send thread: on 2 cores that doubled the context switches
    /// per request and cost about 15 % of the server's CPU during a pull. The runtime reads
    /// only the environment variable, once, when the first socket operation starts, and it
    /// applies to every socket in the process: a process that also runs other socket code
    /// (tests, the CLI) could block an event thread in its continuations, so only the
    /// dedicated executable turns it on. A value the operator set is left alone.
    /// </summary>
    private static void EnableInlineSocketCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }
    }
}

/// <summary>The server cannot start; the message is one line for the operator.</summary>
public sealed class StartupException : Exception
{
    public StartupException(string message)
        : base(message)
    {
    }

    public StartupException()
    {
    }

    public StartupException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
