using System.Collections.Concurrent;
using System.Net;

namespace OstreeContainer.Oci.Tests.Registry;

/// <summary>What the proxy does to one matching request instead of forwarding it faithfully.</summary>
internal enum Fault
{
    /// <summary>Answer 500 without asking the registry.</summary>
    ServerError,

    /// <summary>Answer 429 with <c>Retry-After: 1</c>.</summary>
    TooManyRequests,

    /// <summary>Read half of the request body, then drop the connection.</summary>
    DropDuringRequestBody,

    /// <summary>Forward, send half of the response body, then drop the connection.</summary>
    DropDuringResponseBody,

    /// <summary>Forward, send half of the response body, then go silent.</summary>
    StallDuringResponseBody,
}

/// <summary>
/// An HTTP proxy on loopback in front of a real registry that injects faults into requests
/// matching a rule, a given number of times, and forwards everything else.
/// </summary>
internal sealed class FaultProxy : IDisposable
{
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length", "Expect", "Proxy-Connection", "Date", "Server",
    };

    private readonly string _upstream;
    private readonly HttpClient _client = new(new SocketsHttpHandler { AllowAutoRedirect = false });
    private readonly ConcurrentQueue<(string Method, string PathContains, Fault Fault)> _rules = new();
    private readonly ConcurrentQueue<string> _log = new();
    private readonly LoopbackHttpServer _server;

    public FaultProxy(string upstreamHost)
    {
        _upstream = upstreamHost;
        _server = new LoopbackHttpServer(HandleAsync);
    }

    public string Host => _server.Host;

    /// <summary>Requests seen, as <c>METHOD PATH -&gt; what happened</c>.</summary>
    public IReadOnlyList<string> Log => [.. _log];

    /// <summary>Applies <paramref name="fault"/> to the next <paramref name="times"/> requests matching method and path.</summary>
    public void Inject(string method, string pathContains, Fault fault, int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            _rules.Enqueue((method, pathContains, fault));
        }
    }

    public void Dispose()
    {
        _server.Dispose();
        _client.Dispose();
    }

    private Fault? TakeFault(HttpListenerRequest request)
    {
        lock (_rules)
        {
            var rules = _rules.ToArray();
            for (var i = 0; i < rules.Length; i++)
            {
                if (rules[i].Method == request.HttpMethod && request.RawUrl!.Contains(rules[i].PathContains, StringComparison.Ordinal))
                {
                    _rules.Clear();
                    foreach (var (rule, j) in rules.Select((r, j) => (r, j)))
                    {
                        if (j != i)
                        {
                            _rules.Enqueue(rule);
                        }
                    }

                    return rules[i].Fault;
                }
            }

            return null;
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var fault = TakeFault(request);
        _log.Enqueue($"{request.HttpMethod} {request.RawUrl} -> {fault?.ToString() ?? "forward"}");
        switch (fault)
        {
            case Fault.ServerError:
            case Fault.TooManyRequests:
                await request.InputStream.CopyToAsync(Stream.Null);
                response.StatusCode = fault == Fault.ServerError ? 500 : 429;
                if (fault == Fault.TooManyRequests)
                {
                    response.AddHeader("Retry-After", "1");
                }

                response.ContentType = "application/json";
                var body = """{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}"""u8.ToArray();
                response.ContentLength64 = body.Length;
                await response.OutputStream.WriteAsync(body);
                response.Close();
                return;
            case Fault.DropDuringRequestBody:
                var half = new byte[Math.Max(1, request.ContentLength64 / 2)];
                await request.InputStream.ReadAtLeastAsync(half, half.Length, throwOnEndOfStream: false);
                response.Abort();
                return;
        }

        using var upstream = new HttpRequestMessage(new HttpMethod(request.HttpMethod), $"http://{_upstream}{request.RawUrl}");
        if (request.HasEntityBody)
        {
            var bodyBytes = new MemoryStream();
            await request.InputStream.CopyToAsync(bodyBytes);
            upstream.Content = new ByteArrayContent(bodyBytes.ToArray());
        }

        foreach (var name in request.Headers.AllKeys)
        {
            if (name is null || HopHeaders.Contains(name))
            {
                continue;
            }

            var value = request.Headers[name]!;
            if (!upstream.Headers.TryAddWithoutValidation(name, value))
            {
                upstream.Content ??= new ByteArrayContent([]);
                upstream.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        // The registry builds Location URLs from Host; keep them pointing at the proxy.
        upstream.Headers.Host = Host;
        using var answer = await _client.SendAsync(upstream, HttpCompletionOption.ResponseHeadersRead);
        response.StatusCode = (int)answer.StatusCode;
        foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
        {
            if (HopHeaders.Contains(name))
            {
                continue;
            }

            foreach (var value in values)
            {
                response.AddHeader(name, value);
            }
        }

        var payload = await answer.Content.ReadAsByteArrayAsync();
        var declared = answer.Content.Headers.ContentLength ?? payload.Length;
        response.ContentLength64 = declared;
        if (request.HttpMethod == "HEAD" || payload.Length == 0)
        {
            response.Close();
            return;
        }

        if (fault is Fault.DropDuringResponseBody or Fault.StallDuringResponseBody)
        {
            await response.OutputStream.WriteAsync(payload.AsMemory(0, payload.Length / 2));
            await response.OutputStream.FlushAsync();
            if (fault == Fault.StallDuringResponseBody)
            {
                await Task.Delay(TimeSpan.FromSeconds(10));
            }

            response.Abort();
            return;
        }

        await response.OutputStream.WriteAsync(payload);
        response.Close();
    }
}
