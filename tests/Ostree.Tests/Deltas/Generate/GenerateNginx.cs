using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OstreeContainer.Ostree.Tests.Deltas.Generate;

/// <summary>
/// The real nginx serving a repo directory at <c>/repo/</c> on 127.0.0.1 (foreground, its
/// config and logs in a temp directory), so real <c>ostree pull</c> can fetch our deltas.
/// Dispose kills the process this instance started.
/// </summary>
internal sealed class GenerateNginx : IDisposable
{
    private readonly Process _process;

    private GenerateNginx(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string RepoUrl => $"http://127.0.0.1:{Port}/repo/";

    public static async Task<GenerateNginx> StartAsync(string repo)
    {
        var nginx = Peer.Require("nginx");
        var directory = Fixtures.TempDirectory("nginx");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var config = Path.Combine(directory, "nginx.conf");
        File.WriteAllText(config, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log warn;
            events { worker_connections 256; }
            http {
                access_log {{directory}}/access.log;
                client_body_temp_path {{directory}}/client_body;
                proxy_temp_path {{directory}}/proxy;
                fastcgi_temp_path {{directory}}/fastcgi;
                uwsgi_temp_path {{directory}}/uwsgi;
                scgi_temp_path {{directory}}/scgi;
                default_type application/octet-stream;
                sendfile on;
                server {
                    listen 127.0.0.1:{{port}};
                    location /repo/ { alias {{repo.TrimEnd('/')}}/; }
                }
            }
            """);
        var psi = new ProcessStartInfo(nginx)
        {
            ArgumentList = { "-p", directory, "-e", Path.Combine(directory, "error.log"), "-c", config },
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(psi)!;
        var server = new GenerateNginx(process, port);
        var clock = Stopwatch.StartNew();
        while (!process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        server.Dispose();
        throw new InvalidOperationException($"nginx did not start: {File.ReadAllText(Path.Combine(directory, "error.log"))}");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
