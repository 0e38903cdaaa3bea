using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OstreeContainer.TestSupport;

/// <summary>
/// The real nginx serving a repo directory at <c>/repo/</c> on 127.0.0.1, in the
/// foreground (<c>daemon off; master_process off;</c>) with a config, pid file and logs
/// in a temp directory. Dispose kills the process this instance started.
/// </summary>
public sealed class NginxServer : IDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private NginxServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The remote URL to give <c>ostree remote add</c> or <c>--upstream</c>.</summary>
    public string RepoUrl => $"http://127.0.0.1:{Port}/repo/";

    /// <summary>The access log so far (one line per request: status and path).</summary>
    public string[] AccessLog => File.Exists(Path.Combine(_directory, "access.log")) ? File.ReadAllLines(Path.Combine(_directory, "access.log")) : [];

    /// <summary>Starts nginx for <paramref name="repo"/> and waits until it accepts connections.</summary>
    public static async Task<NginxServer> StartAsync(string repo)
    {
        var nginx = Peer.Require("nginx");
        var directory = Fixtures.TempDirectory("nginx");
        var port = FreePort();
        var config = Path.Combine(directory, "nginx.conf");
        File.WriteAllText(config, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log {{directory}}/access.log;
                client_body_temp_path {{directory}}/client_body;
                proxy_temp_path {{directory}}/proxy;
                fastcgi_temp_path {{directory}}/fastcgi;
                uwsgi_temp_path {{directory}}/uwsgi;
                scgi_temp_path {{directory}}/scgi;
                default_type application/octet-stream;
                sendfile on;
                keepalive_requests 100000;
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
        var server = new NginxServer(process, directory, port);
        var deadline = Stopwatch.StartNew();
        while (!process.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(10))
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
        var log = File.Exists(Path.Combine(directory, "error.log")) ? File.ReadAllText(Path.Combine(directory, "error.log")) : "";
        throw new InvalidOperationException($"nginx did not start listening on 127.0.0.1:{port}: {log.Trim()}");
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

    /// <summary>A port nobody listens on right now (the kernel's pick for port 0).</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
