using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OstreeContainer.Oci.Tests.Registry;

/// <summary>What the proxy does to one matching request instead of forwarding it faithfully.</summary>
internal enum Fault
{
    /// <summary>Answer 500 without asking the registry.</summary>
    ServerError,

    /// <summary>Answer 429 with <c>Retry-After: 1</c>.</summary>
    TooManyRequests,

    /// <summary>Read half of the request body, then reset the connection.</summary>
    DropDuringRequestBody,

    /// <summary>Forward, relay half of the response body, then reset the connection.</summary>
    DropDuringResponseBody,

    /// <summary>Forward, relay half of the response body, then go silent.</summary>
    StallDuringResponseBody,
}

/// <summary>
/// A TCP proxy on loopback in front of a real registry that understands just enough HTTP/1.1
/// (request head, Content-Length bodies) to inject faults into requests matching a rule and
/// to relay everything else byte for byte. It works at the socket level so a "dropped
/// connection" really is one (a reset), not a polite empty response. Each connection carries
/// one request (<c>Connection: close</c>), so every request passes the rules.
/// </summary>
internal sealed class FaultProxy : IDisposable
{
    private readonly string _upstream;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<(string Method, string PathContains, Fault Fault)> _rules = [];
    private readonly ConcurrentQueue<string> _log = new();
    private readonly CancellationTokenSource _stop = new();

    public FaultProxy(string upstreamHost)
    {
        _upstream = upstreamHost;
        _listener.Start();
        _ = Task.Run(AcceptLoopAsync);
    }

    public string Host => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Requests seen, as <c>METHOD PATH -&gt; what happened</c>.</summary>
    public IReadOnlyList<string> Log => [.. _log];

    /// <summary>Applies <paramref name="fault"/> to the next <paramref name="times"/> requests matching method and path.</summary>
    public void Inject(string method, string pathContains, Fault fault, int times = 1)
    {
        lock (_rules)
        {
            for (var i = 0; i < times; i++)
            {
                _rules.Add((method, pathContains, fault));
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private Fault? TakeFault(string method, string path)
    {
        lock (_rules)
        {
            var index = _rules.FindIndex(r => r.Method == method && path.Contains(r.PathContains, StringComparison.Ordinal));
            if (index < 0)
            {
                return null;
            }

            var fault = _rules[index].Fault;
            _rules.RemoveAt(index);
            return fault;
        }
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
                        await HandleAsync(client);
                    }
                    catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
                    {
                        // A side hung up; the test looks at what the client saw.
                    }
                }
            });
        }
    }

    private async Task HandleAsync(Socket client)
    {
        // A TLS hello (record type 22) to this plain-HTTP proxy: hang up, as a refusing server would.
        var first = new byte[1];
        if (await client.ReceiveAsync(first, SocketFlags.Peek) == 0 || first[0] == 0x16)
        {
            Reset(client);
            return;
        }

        var clientStream = new NetworkStream(client, ownsSocket: false);
        var (head, rest) = await ReadHeadAsync(clientStream);
        if (head is null)
        {
            return;
        }

        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        var (method, path) = (requestLine[0], requestLine[1]);
        var length = ContentLength(lines);
        var fault = TakeFault(method, path);
        _log.Enqueue($"{method} {path} -> {fault?.ToString() ?? "forward"}");

        switch (fault)
        {
            case Fault.ServerError or Fault.TooManyRequests:
                await ReadBodyAsync(clientStream, rest, length, Stream.Null);
                var body = """{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}""";
                var status = fault == Fault.ServerError ? "500 Internal Server Error" : "429 Too Many Requests\r\nRetry-After: 1";
                await clientStream.WriteAsync(Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
                client.Shutdown(SocketShutdown.Send);
                return;
            case Fault.DropDuringRequestBody:
                await ReadBodyAsync(clientStream, rest, length / 2, Stream.Null);
                Reset(client);
                return;
        }

        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var colon = _upstream.LastIndexOf(':');
        await upstream.ConnectAsync(IPAddress.Parse(_upstream[..colon]), int.Parse(_upstream[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        var upstreamStream = new NetworkStream(upstream, ownsSocket: false);

        // One request per connection, so the next request comes back through the rules.
        var forwarded = string.Join("\r\n", lines.Where(l => !l.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase))) + "\r\nConnection: close\r\n\r\n";
        await upstreamStream.WriteAsync(Encoding.ASCII.GetBytes(forwarded));
        await ReadBodyAsync(clientStream, rest, length, upstreamStream);

        if (fault is Fault.DropDuringResponseBody or Fault.StallDuringResponseBody && method != "HEAD")
        {
            var (responseHead, responseRest) = await ReadHeadAsync(upstreamStream);
            var responseLength = ContentLength(responseHead!.Split("\r\n"));
            await clientStream.WriteAsync(Encoding.ASCII.GetBytes(responseHead + "\r\n\r\n"));
            await ReadBodyAsync(upstreamStream, responseRest, responseLength / 2, clientStream);
            if (fault == Fault.StallDuringResponseBody)
            {
                await Task.Delay(TimeSpan.FromSeconds(10), _stop.Token);
            }

            Reset(client);
            return;
        }

        await upstreamStream.CopyToAsync(clientStream);
        client.Shutdown(SocketShutdown.Send);
    }

    // Linger 0 makes Close send RST: the peer sees "connection reset", as with a crashed server.
    private static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    private static long ContentLength(string[] lines)
    {
        foreach (var line in lines)
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return long.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static async Task<(string? Head, byte[] Remainder)> ReadHeadAsync(Stream stream)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        while (true)
        {
            var n = await stream.ReadAsync(chunk);
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

    private static async Task ReadBodyAsync(Stream from, byte[] already, long length, Stream to)
    {
        var first = (int)Math.Min(already.Length, length);
        await to.WriteAsync(already.AsMemory(0, first));
        var remaining = length - first;
        var chunk = new byte[64 * 1024];
        while (remaining > 0)
        {
            var n = await from.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, remaining)));
            if (n == 0)
            {
                return;
            }

            await to.WriteAsync(chunk.AsMemory(0, n));
            remaining -= n;
        }

        await to.FlushAsync();
    }
}
