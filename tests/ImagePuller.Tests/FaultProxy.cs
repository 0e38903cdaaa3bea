using System.Net;
using System.Net.Sockets;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>
/// A TCP proxy on 127.0.0.1 (port 0) in front of a real server. It drops the first
/// connection that has sent <see cref="DropAfterBytes"/> bytes back to the client — a
/// connection lost in the middle of a blob — and forwards everything else untouched.
/// </summary>
internal sealed class FaultProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private int _dropped;

    public FaultProxy(int upstreamPort, long dropAfterBytes)
    {
        _upstreamPort = upstreamPort;
        DropAfterBytes = dropAfterBytes;
        _listener.Start();
        _ = AcceptLoopAsync();
    }

    public long DropAfterBytes { get; }

    public string Host => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>How many connections were dropped (0 or 1).</summary>
    public int Dropped => Volatile.Read(ref _dropped);

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

            _ = ServeAsync(client);
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
        }
    }
}
