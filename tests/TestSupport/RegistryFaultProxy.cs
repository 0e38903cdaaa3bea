using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OstreeContainer.TestSupport;

/// <summary>What <see cref="RegistryFaultProxy"/> does with one HTTP request.</summary>
public enum HttpFault
{
    /// <summary>Forwarded untouched.</summary>
    None,

    /// <summary>Answered <c>500 Internal Server Error</c> without reaching the registry.</summary>
    ServerError,

    /// <summary>Answered <c>429 Too Many Requests</c> with <c>Retry-After: 1</c>.</summary>
    TooManyRequests,

    /// <summary>Forwarded, but the response stops after its headers and half its body; the connection stays open, silent.</summary>
    Stall,
}

/// <summary>One request as the proxy saw it.</summary>
public sealed record ProxiedRequest(string Method, string Path, string? Range, HttpFault Fault);

/// <summary>
/// A proxy on 127.0.0.1 (port 0) in front of a real server. In TCP mode it drops the first
/// connection that has sent <see cref="DropAfterBytes"/> bytes back to the client — a
/// connection lost in the middle of a blob — and forwards everything else, no faster than
/// <see cref="BytesPerSecond"/> per connection when that is set (a slow link). In
/// HTTP mode a rule decides per request (method, path, how many times that path was asked
/// for before) whether it is forwarded, answered with an error, or stalled mid-body; each
/// request gets its own upstream connection (<c>Connection: close</c>), so the rule sees
/// every one, and <see cref="Log"/> records them.
/// </summary>
public sealed class RegistryFaultProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly Func<string, string, int, HttpFault>? _rule;
    private readonly ConcurrentDictionary<string, int> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ProxiedRequest> _log = new();
    private readonly CancellationTokenSource _stop = new();
    private int _dropped;

    public RegistryFaultProxy(int upstreamPort, long dropAfterBytes)
    {
        _upstreamPort = upstreamPort;
        DropAfterBytes = dropAfterBytes;
        _listener.Start();
        _ = AcceptLoopAsync();
    }

    /// <summary>HTTP mode: <paramref name="rule"/> gets method, path and the number of earlier requests for that path.</summary>
    public RegistryFaultProxy(int upstreamPort, Func<string, string, int, HttpFault> rule)
        : this(upstreamPort, long.MaxValue)
    {
        _rule = rule;
    }

    public long DropAfterBytes { get; }

    /// <summary>TCP mode: the most bytes per second each connection sends to the client; 0, no cap. May change while connections run.</summary>
    public long BytesPerSecond { get; set; }

    public string Host => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>How many connections were dropped (0 or 1).</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary>Every request seen in HTTP mode, in arrival order.</summary>
    public IReadOnlyList<ProxiedRequest> Log => [.. _log];

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = _rule is null ? ServeAsync(client) : ServeHttpAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
                var toServer = client.GetStream().CopyToAsync(upstream.GetStream(), _stop.Token);
                var toClient = CopyWithFaultAsync(upstream.GetStream(), client.GetStream());
                await Task.WhenAny(toServer, toClient);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
            }

            // Leaving the using blocks closes both sockets: the client sees the body end early.
            client.Client.LingerState = new LingerOption(true, 0);
        }
    }

    private async Task CopyWithFaultAsync(Stream from, Stream to)
    {
        var buffer = new byte[16 * 1024];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long sent = 0;
        int n;
        while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            if (sent + n >= DropAfterBytes && Interlocked.CompareExchange(ref _dropped, 1, 0) == 0)
            {
                return;
            }

            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            sent += n;
            var rate = BytesPerSecond;
            if (rate > 0 && TimeSpan.FromSeconds((double)sent / rate) - clock.Elapsed is { Ticks: > 0 } ahead)
            {
                await Task.Delay(ahead, _stop.Token);
            }
        }
    }

    // One request per client connection: the pull client sends GET/HEAD only (no bodies),
    // and the Connection: close we add makes both the registry and the client close after
    // the response.
    private async Task ServeHttpAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = await ReadHeadAsync(stream);
                if (head is null)
                {
                    return;
                }

                var lines = head.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
                var parts = lines[0].Split(' ');
                var (method, path) = (parts[0], parts[1]);
                var range = lines.Skip(1).FirstOrDefault(l => l.StartsWith("Range:", StringComparison.OrdinalIgnoreCase))?[6..].Trim();
                var fault = _rule!(method, path, _seen.AddOrUpdate(path, 0, (_, n) => n + 1));
                _log.Enqueue(new ProxiedRequest(method, path, range, fault));
                switch (fault)
                {
                    case HttpFault.ServerError:
                        await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), _stop.Token);
                        return;
                    case HttpFault.TooManyRequests:
                        await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), _stop.Token);
                        return;
                }

                var forwarded = new StringBuilder(lines[0]).Append("\r\n");
                foreach (var line in lines.Skip(1).Where(l => !l.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase)))
                {
                    forwarded.Append(line).Append("\r\n");
                }

                forwarded.Append("Connection: close\r\n\r\n");
                using var upstream = new TcpClient();
                await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
                var server = upstream.GetStream();
                await server.WriteAsync(Encoding.ASCII.GetBytes(forwarded.ToString()), _stop.Token);
                var limit = long.MaxValue;
                if (fault == HttpFault.Stall)
                {
                    var response = await ReadHeadAsync(server) ?? "";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(response), _stop.Token);
                    var length = response.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))?[15..].Trim();
                    limit = long.Parse(length ?? "0", System.Globalization.CultureInfo.InvariantCulture) / 2;
                }

                var buffer = new byte[16 * 1024];
                long sent = 0;
                int n;
                while (sent < limit && (n = await server.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, limit - sent)), _stop.Token)) > 0)
                {
                    await stream.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
                    sent += n;
                }

                if (fault == HttpFault.Stall)
                {
                    // Silent, not closed: only the client's idle timeout can notice.
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task<string?> ReadHeadAsync(NetworkStream stream)
    {
        var head = new List<byte>(1024);
        var one = new byte[1];
        while (head.Count < 64 * 1024)
        {
            if (await stream.ReadAsync(one, _stop.Token) == 0)
            {
                return null;
            }

            head.Add(one[0]);
            if (head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n')
            {
                return Encoding.ASCII.GetString([.. head]);
            }
        }

        return null;
    }
}
