using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace OstreeContainer.RepoWebserver.Tests;

/// <summary>A response read off the wire: status line, headers as sent, and the exact body bytes.</summary>
internal sealed record RawResponse(string StatusLine, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public int Status => int.Parse(StatusLine.Split(' ')[1], CultureInfo.InvariantCulture);

    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// HTTP/1.1 over a bare <see cref="TcpClient"/>: the request line goes out byte for byte,
/// so tests can send what <see cref="HttpClient"/> would normalise (<c>..</c>, <c>%2e</c>,
/// backslashes, absolute-form targets) and headers exactly as libostree sends them.
/// </summary>
internal static class RawHttp
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary>Sends <c>METHOD TARGET HTTP/1.1</c> with a Host header, <paramref name="headers"/> and <c>Connection: close</c> unless given.</summary>
    public static Task<RawResponse> SendAsync(int port, string method, string target, params string[] headers)
    {
        var lines = new List<string> { $"{method} {target} HTTP/1.1", $"Host: 127.0.0.1:{port}" };
        lines.AddRange(headers);
        if (!headers.Any(h => h.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase)))
        {
            lines.Add("Connection: close");
        }

        return SendRawAsync(port, string.Join("\r\n", lines) + "\r\n\r\n", head: method == "HEAD");
    }

    /// <summary>Sends <paramref name="request"/> verbatim and reads one response.</summary>
    public static async Task<RawResponse> SendRawAsync(int port, string request, bool head = false)
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port, cts.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cts.Token);

        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int headerEnd;
        while ((headerEnd = received.GetBuffer().AsSpan(0, (int)received.Length).IndexOf("\r\n\r\n"u8)) < 0)
        {
            var n = await stream.ReadAsync(buffer, cts.Token);
            if (n == 0)
            {
                throw new IOException($"connection closed before the end of the response headers: {Encoding.ASCII.GetString(received.ToArray())}");
            }

            received.Write(buffer, 0, n);
        }

        var all = received.ToArray();
        var headerLines = Encoding.ASCII.GetString(all, 0, headerEnd).Split("\r\n");
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in headerLines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            fields[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        var body = new MemoryStream();
        body.Write(all, headerEnd + 4, all.Length - headerEnd - 4);
        var status = int.Parse(headerLines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var bodyless = head || status is 204 or 304 || status < 200;
        if (!bodyless)
        {
            long? expected = fields.TryGetValue("Content-Length", out var cl) ? long.Parse(cl, CultureInfo.InvariantCulture) : null;
            // Without a length, read until the server closes (we asked it to, unless a test kept the connection).
            while (expected is null || body.Length < expected)
            {
                var n = await stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    break;
                }

                body.Write(buffer, 0, n);
            }
        }
        else
        {
            // Anything the server sends after a bodyless response's headers would be a body it must not send.
            tcp.Client.Shutdown(SocketShutdown.Send);
            using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer, drain.Token)) > 0)
                {
                    body.Write(buffer, 0, n);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        return new RawResponse(headerLines[0], fields, body.ToArray());
    }
}
