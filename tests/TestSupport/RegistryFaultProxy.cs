using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OstreeContainer.TestSupport;

/// <summary>What <see cref="RegistryFaultProxy"/> does with one HTTP request.</summary>
public enum HttpFault
{
    /// <summary>Forwarded untouched.</summary>
    None,

    /// <summary>Answered <c>500 Internal Server Error</c> (with a registry error body) without reaching the registry.</summary>
    ServerError,

    /// <summary>Answered <c>429 Too Many Requests</c> with <c>Retry-After: 1</c>, without reaching the registry.</summary>
    TooManyRequests,

    /// <summary>Half of the request body is read, then the connection is reset.</summary>
    DropDuringRequestBody,

    /// <summary>Forwarded; the response's headers and half its body are relayed, then the connection is reset (a blob cut mid-way).</summary>
    DropDuringResponseBody,

    /// <summary>Forwarded; the response's headers and half its body are relayed, then the connection goes silent.</summary>
    StallDuringResponseBody,
}

/// <summary>One request as the proxy saw it, and what it did with it.</summary>
public sealed record ProxiedRequest(string Method, string Path, string? Range, HttpFault Fault)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Method} {Path}{(Range is null ? "" : $" ({Range})")} -> {Fault}";
}

/// <summary>
/// A proxy on 127.0.0.1 (port 0) in front of a real registry that understands just enough
/// HTTP/1.1 (request and response heads, <c>Content-Length</c> bodies) to inject faults
/// and relays everything else byte for byte. It works at the socket level, so a dropped
/// connection really is one (a reset), not a polite empty response. Each request gets its
/// own connection (<c>Connection: close</c> both ways), so every request passes the faults
/// and is recorded in <see cref="Log"/>. A fault comes from <see cref="Inject"/> (the next
/// matching requests) or else from the rule given to the constructor. Responses are relayed
/// no faster than <see cref="BytesPerSecond"/> per connection when that is set (a slow link).
/// </summary>
public sealed class RegistryFaultProxy : IDisposable
{
    // TLS record type 22, handshake (RFC 8446 §5.1): the first byte of a ClientHello.
    private const byte TlsHandshakeRecord = 0x16;

    // Longer than any idle timeout a test sets, bounded so that a client that never notices
    // the silence fails its test instead of hanging it.
    private static readonly TimeSpan StallTime = TimeSpan.FromSeconds(30);

    private static readonly byte[] ErrorBody = """{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}"""u8.ToArray();

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly Func<string, string, int, HttpFault>? _rule;
    private readonly List<(string Method, string PathContains, HttpFault Fault)> _injected = [];
    private readonly ConcurrentDictionary<string, int> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ProxiedRequest> _log = new();
    private readonly CancellationTokenSource _stop = new();
    private long _bytesPerSecond;

    /// <summary>
    /// Starts a proxy to the server on loopback port <paramref name="upstreamPort"/>.
    /// <paramref name="rule"/>, when given, decides each request's fault from its method, its
    /// path and how many requests for that path came before it (of any method).
    /// </summary>
    public RegistryFaultProxy(int upstreamPort, Func<string, string, int, HttpFault>? rule = null)
    {
        _upstreamPort = upstreamPort;
        _rule = rule;
        _listener.Start();
        _ = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The proxy's address, <c>127.0.0.1:port</c>, for image references.</summary>
    public string Host => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>The most bytes per second each connection sends to the client; 0, no cap. May change while connections run.</summary>
    public long BytesPerSecond
    {
        get => Interlocked.Read(ref _bytesPerSecond);
        set => Interlocked.Exchange(ref _bytesPerSecond, value);
    }

    /// <summary>Every request seen, in arrival order.</summary>
    public IReadOnlyList<ProxiedRequest> Log => [.. _log];

    /// <summary>Applies <paramref name="fault"/> to the next <paramref name="times"/> requests with <paramref name="method"/> whose path contains <paramref name="pathContains"/>.</summary>
    public void Inject(string method, string pathContains, HttpFault fault, int times = 1)
    {
        lock (_injected)
        {
            for (var i = 0; i < times; i++)
            {
                _injected.Add((method, pathContains, fault));
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }

    private HttpFault Decide(string method, string path)
    {
        var seen = _seen.AddOrUpdate(path, 0, (_, n) => n + 1);
        lock (_injected)
        {
            var index = _injected.FindIndex(r => r.Method == method && path.Contains(r.PathContains, StringComparison.Ordinal));
            if (index >= 0)
            {
                var fault = _injected[index].Fault;
                _injected.RemoveAt(index);
                return fault;
            }
        }

        return _rule?.Invoke(method, path, seen) ?? HttpFault.None;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        await HandleAsync(client, _stop.Token);
                    }
                    catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
                    {
                        // A side hung up, or the proxy was disposed; the test looks at what the client saw.
                    }
                }
            });
        }
    }

    private async Task HandleAsync(Socket client, CancellationToken cancellationToken)
    {
        // A TLS hello to this plain-HTTP proxy: hang up, as a server refusing TLS would.
        var first = new byte[1];
        if (await client.ReceiveAsync(first, SocketFlags.Peek, cancellationToken) == 0 || first[0] == TlsHandshakeRecord)
        {
            Reset(client);
            return;
        }

        var clientStream = new NetworkStream(client, ownsSocket: false);
        var (head, rest) = await ReadHeadAsync(clientStream, cancellationToken);
        if (head is null)
        {
            return;
        }

        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        var (method, path) = (requestLine[0], requestLine[1]);
        var length = ContentLength(lines);
        var fault = Decide(method, path);
        _log.Enqueue(new ProxiedRequest(method, path, Header(lines, "Range"), fault));

        switch (fault)
        {
            case HttpFault.ServerError or HttpFault.TooManyRequests:
                await RelayAsync(clientStream, rest, length, Stream.Null, capped: false, cancellationToken);
                var status = fault == HttpFault.ServerError ? "500 Internal Server Error" : "429 Too Many Requests\r\nRetry-After: 1";
                await clientStream.WriteAsync(Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {ErrorBody.Length}\r\nConnection: close\r\n\r\n"), cancellationToken);
                await clientStream.WriteAsync(ErrorBody, cancellationToken);
                client.Shutdown(SocketShutdown.Send);
                return;
            case HttpFault.DropDuringRequestBody:
                await RelayAsync(clientStream, rest, length / 2, Stream.Null, capped: false, cancellationToken);
                Reset(client);
                return;
        }

        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, cancellationToken);
        var upstreamStream = new NetworkStream(upstream, ownsSocket: false);

        // One request per connection, so the next request comes back through Decide.
        var forwarded = string.Join("\r\n", lines.Where(l => !l.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase))) + "\r\nConnection: close\r\n\r\n";
        await upstreamStream.WriteAsync(Encoding.ASCII.GetBytes(forwarded), cancellationToken);
        await RelayAsync(clientStream, rest, length, upstreamStream, capped: false, cancellationToken);

        // A HEAD answer has no body to cut: it is forwarded whole.
        if (fault is HttpFault.DropDuringResponseBody or HttpFault.StallDuringResponseBody && method != "HEAD")
        {
            var (responseHead, responseRest) = await ReadHeadAsync(upstreamStream, cancellationToken);
            if (responseHead is null)
            {
                Reset(client);
                return;
            }

            await clientStream.WriteAsync(Encoding.ASCII.GetBytes(responseHead + "\r\n\r\n"), cancellationToken);
            await RelayAsync(upstreamStream, responseRest, ContentLength(responseHead.Split("\r\n")) / 2, clientStream, capped: true, cancellationToken);
            if (fault == HttpFault.StallDuringResponseBody)
            {
                // Silent, not closed: only the client's idle timeout can notice.
                await Task.Delay(StallTime, cancellationToken);
            }

            Reset(client);
            return;
        }

        // The registry closes after its response (Connection: close), which ends the relay.
        await RelayAsync(upstreamStream, [], long.MaxValue, clientStream, capped: true, cancellationToken);
        client.Shutdown(SocketShutdown.Send);
    }

    // Linger 0 makes Close send RST: the peer sees "connection reset", as with a crashed server.
    private static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    private static string? Header(string[] lines, string name)
    {
        var prefix = name + ":";
        return lines.Skip(1).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))?[prefix.Length..].Trim();
    }

    private static long ContentLength(string[] lines) =>
        Header(lines, "Content-Length") is { } value ? long.Parse(value, CultureInfo.InvariantCulture) : 0;

    // Reads up to the blank line that ends a head; returns the head without it and the bytes read past it.
    private static async Task<(string? Head, byte[] Remainder)> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        while (true)
        {
            var n = await stream.ReadAsync(chunk, cancellationToken);
            if (n == 0)
            {
                return (null, []);
            }

            buffer.Write(chunk, 0, n);
            var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            var end = bytes.IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                return (Encoding.ASCII.GetString(bytes[..end]), bytes[(end + 4)..].ToArray());
            }
        }
    }

    // Copies length bytes (or up to end of stream), the first ones from already; when capped,
    // no faster than BytesPerSecond as it is at each write.
    private async Task RelayAsync(Stream from, byte[] already, long length, Stream to, bool capped, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var first = (int)Math.Min(already.Length, length);
        await to.WriteAsync(already.AsMemory(0, first), cancellationToken);
        long sent = first;
        var chunk = new byte[16 * 1024];
        while (sent < length)
        {
            var n = await from.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, length - sent)), cancellationToken);
            if (n == 0)
            {
                break;
            }

            await to.WriteAsync(chunk.AsMemory(0, n), cancellationToken);
            sent += n;
            var rate = capped ? BytesPerSecond : 0;
            if (rate > 0 && TimeSpan.FromSeconds((double)sent / rate) - clock.Elapsed is { Ticks: > 0 } ahead)
            {
                await Task.Delay(ahead, cancellationToken);
            }
        }

        await to.FlushAsync(cancellationToken);
    }
}
