using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace OstreeContainer.TestSupport;

/// <summary>
/// A real CNCF distribution registry (<c>docker-registry serve</c>) on 127.0.0.1 with
/// filesystem storage in a temp dir, optionally behind htpasswd basic auth. Disposing kills
/// it and deletes the storage. A missing <c>docker-registry</c> (or <c>htpasswd</c>) fails
/// the test with an install hint.
/// </summary>
public sealed partial class LocalRegistry : IDisposable
{
    // Below the Linux ephemeral range (32768+), so an outgoing connection never holds our port.
    private const int FirstPort = 20000;
    private const int LastPort = 31999;

    private readonly Process _process;
    private readonly StringBuilder _stdout;
    private readonly StringBuilder _stderr;

    private LocalRegistry(string root, int port, Process process, StringBuilder stdout, StringBuilder stderr)
    {
        Root = root;
        Port = port;
        _process = process;
        _stdout = stdout;
        _stderr = stderr;
    }

    /// <summary>The temp dir holding config, htpasswd and storage.</summary>
    public string Root { get; }

    /// <summary>The registry's filesystem storage root (<c>docker/registry/v2/…</c> lives below it).</summary>
    public string StorageDirectory => Path.Combine(Root, "storage");

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:PORT</c>, the registry part of an image name.</summary>
    public string Host => $"127.0.0.1:{Port}";

    /// <summary>The registry's stdout so far: one access-log line per request (combined log format).</summary>
    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <summary>The registry's stderr so far: its structured application log.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts an anonymous registry, or one requiring <paramref name="user"/>/<paramref name="password"/>.</summary>
    public static LocalRegistry Start(string? user = null, string? password = null)
    {
        var executable = Peer.Require("docker-registry");
        var root = Directory.CreateTempSubdirectory("local-registry-").FullName;
        try
        {
            var auth = string.Empty;
            if (user is not null)
            {
                var htpasswd = Path.Combine(root, "htpasswd");
                File.WriteAllText(htpasswd, HtpasswdLine(user, password ?? string.Empty));
                auth = $"auth:\n  htpasswd:\n    realm: local-registry\n    path: {htpasswd}\n";
            }

            Exception? last = null;
            for (var attempt = 0; attempt < 20; attempt++)
            {
                var port = FreePort();
                var config = Path.Combine(root, "config.yml");
                File.WriteAllText(config, $"""
                    version: 0.1
                    log:
                      level: info
                    storage:
                      filesystem:
                        rootdirectory: {Path.Combine(root, "storage")}
                      delete:
                        enabled: true
                    http:
                      addr: 127.0.0.1:{port}
                      secret: local-registry-test-secret
                    {auth}
                    """);
                var stdout = new StringBuilder();
                var stderr = new StringBuilder();
                var process = Launch(executable, config, stdout, stderr);
                var registry = new LocalRegistry(root, port, process, stdout, stderr);
                try
                {
                    registry.WaitUntilReady(TimeSpan.FromSeconds(20));
                    return registry;
                }
                catch (Exception e) when (registry.Stderr.Contains("address already in use", StringComparison.Ordinal))
                {
                    // Another process took the port between our probe and the registry's bind.
                    last = e;
                    registry.Stop();
                }
                catch
                {
                    registry.Stop();
                    throw;
                }
            }

            throw new InvalidOperationException("docker-registry could not bind a free port in 20 attempts", last);
        }
        catch
        {
            Directory.Delete(root, recursive: true);
            throw;
        }
    }

    /// <summary>The path where the registry stores the bytes of blob <c>sha256:HEX</c>.</summary>
    public string BlobDataPath(string digest)
    {
        var hex = digest["sha256:".Length..];
        return Path.Combine(StorageDirectory, "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
    }

    /// <summary>
    /// Requests in the access log so far as (method, path with query, status), optionally only
    /// those whose method is <paramref name="method"/> and whose path contains <paramref name="pathContains"/>.
    /// </summary>
    public IReadOnlyList<(string Method, string Path, int Status)> Requests(string? method = null, string? pathContains = null) =>
        AccessLogLine().Matches(Stdout)
            .Select(m => (Method: m.Groups[1].Value, Path: m.Groups[2].Value, Status: int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture)))
            .Where(r => (method is null || r.Method == method) && (pathContains is null || r.Path.Contains(pathContains, StringComparison.Ordinal)))
            .ToList();

    /// <summary>Stops the registry and deletes its storage.</summary>
    public void Dispose()
    {
        Stop();
        for (var attempt = 0; attempt < 3 && Directory.Exists(Root); attempt++)
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // A dying registry may still be writing below storage/; give it a moment.
                Thread.Sleep(100);
            }
        }
    }

    private static string HtpasswdLine(string user, string password)
    {
        // docker-registry accepts only bcrypt entries; htpasswd -B writes them.
        try
        {
            Peer.Require("htpasswd");
        }
        catch (InvalidOperationException)
        {
            throw new InvalidOperationException("the peer tool 'htpasswd' is not installed: run 'apt-get install apache2-utils' (or scripts/install-deps.sh)");
        }

        return Peer.Run("htpasswd", ["-nbB", user, password]).EnsureSuccess("htpasswd -nbB").Stdout.Trim() + "\n";
    }

    private static int FreePort()
    {
        for (var i = 0; i < 100; i++)
        {
            var port = Random.Shared.Next(FirstPort, LastPort + 1);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken; try another.
            }
        }

        throw new InvalidOperationException($"no free port in {FirstPort}-{LastPort}");
    }

    private static Process Launch(string executable, string config, StringBuilder stdout, StringBuilder stderr)
    {
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add(config);
        var process = Process.Start(psi)!;
        process.StandardInput.Close();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void WaitUntilReady(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                throw new InvalidOperationException($"docker-registry exited {_process.ExitCode}: {LastLines(Stderr)}");
            }

            try
            {
                using var response = http.GetAsync(new Uri($"http://{Host}/v2/")).GetAwaiter().GetResult();

                // 200 anonymous, 401 with auth: either way the API is up.
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow start on a busy machine.
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException($"docker-registry on {Host} did not answer /v2/ within {timeout.TotalSeconds:0} s: {LastLines(Stderr)}");
    }

    private void Stop()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private static string LastLines(string text) =>
        string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3));

    // 127.0.0.1 - - [26/Nov/2026:00:11:44 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"
    [GeneratedRegex("\"([A-Z]+) (\\S+) HTTP/[0-9.]+\" ([0-9]{3}) ")]
    private static partial Regex AccessLogLine();
}
