using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OstreeContainer.RepoWebserver.Hosting;
using Serilog;
using Serilog.Extensions.Logging;

namespace OstreeContainer.RepoWebserver.Tests;

/// <summary>One request the server answered: method, raw path (as Kestrel decoded it) and status.</summary>
internal sealed record RecordedRequest(string Method, string Path, int Status);

/// <summary>
/// The real web application (<see cref="RepoWebserverHost.Build(string[], bool, Action{Serilog.LoggerConfiguration})"/>) listening on
/// 127.0.0.1 port 0, in this process, with a private transcode cache. Every answered
/// request is recorded through the host's own <c>Microsoft.AspNetCore</c> diagnostic
/// listener, which belongs to this application only, so tests can tell which files a real
/// <c>ostree pull</c> asked for. What the server logs (through its own Serilog
/// configuration, so at the levels it lets through) is kept in <see cref="Logs"/>.
/// Dispose stops the server.
/// </summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private const string RequestStopEvent = "Microsoft.AspNetCore.Hosting.HttpRequestIn.Stop";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly IDisposable _subscription;

    private readonly string _cacheDirectory;

    private RunningServer(WebApplication app, Uri baseAddress, string cacheDirectory, TestLogs logs)
    {
        _app = app;
        Logs = logs;
        _cacheDirectory = cacheDirectory;
        BaseAddress = baseAddress;
        _subscription = app.Services.GetRequiredService<DiagnosticListener>().Subscribe(new Recorder(_requests), IsRecorded);
    }

    /// <summary><c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri BaseAddress { get; private set; }

    /// <summary>The remote URL to give <c>ostree remote add</c>.</summary>
    public string RepoUrl => new Uri(BaseAddress, "repo").ToString();

    public int Port => BaseAddress.Port;

    /// <summary>The server's transcode cache (<c>--cache-dir</c>).</summary>
    public string CacheDirectory => _cacheDirectory;

    /// <summary>What the server logged so far.</summary>
    public TestLogs Logs { get; }

    /// <summary>The requests answered so far, in completion order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Starts a server for <paramref name="repo"/>; <paramref name="extraArgs"/> are more command-line options.</summary>
    public static async Task<RunningServer> StartAsync(string repo, params string[] extraArgs)
    {
        var cache = Fixtures.TempDirectory("webserver-cache");
        var logs = new TestLogs();
        var providers = new LoggerProviderCollection();
        providers.AddProvider(logs);
        var app = RepoWebserverHost.Build(
            ["--repo", repo, "--urls", "http://127.0.0.1:0", "--request-logging", "false", "--cache-dir", cache, .. extraArgs],
            ownsProcess: false,
            configureLogging: logging => logging.WriteTo.Providers(providers));
        // Subscribe before the first request; the address is known only after StartAsync.
        var server = new RunningServer(app, new Uri("http://127.0.0.1/"), cache, logs);
        try
        {
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
            server.BaseAddress = new Uri(address.TrimEnd('/') + "/");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A client that neither follows redirects nor decompresses, so tests see exactly what was sent.</summary>
    public HttpClient CreateClient() => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseProxy = false,
    })
    {
        BaseAddress = BaseAddress,
    };

    /// <summary>The text of <c>/metrics</c>.</summary>
    public async Task<string> MetricsAsync()
    {
        using var client = CreateClient();
        return await client.GetStringAsync("metrics");
    }

    public async ValueTask DisposeAsync()
    {
        _subscription.Dispose();
        try
        {
            await _app.StopAsync();
        }
        finally
        {
            await _app.DisposeAsync();
            TempRepo.Delete(_cacheDirectory);
        }
    }

    // The hosting layer creates the request activity, and writes its Stop event with the
    // HttpContext as payload, only when a subscriber asks for it.
    private static bool IsRecorded(string name) => name.StartsWith("Microsoft.AspNetCore.Hosting.HttpRequestIn", StringComparison.Ordinal);

    private sealed class Recorder(ConcurrentQueue<RecordedRequest> requests) : IObserver<KeyValuePair<string, object?>>
    {
        public void OnNext(KeyValuePair<string, object?> value)
        {
            if (value.Key == RequestStopEvent && value.Value is HttpContext context)
            {
                requests.Enqueue(new RecordedRequest(context.Request.Method, context.Request.Path.Value ?? "", context.Response.StatusCode));
            }
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }
}
