using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OstreeContainer.Deploy.Tests;

/// <summary>
/// The Deployment's probes, sent to the real NativeAOT repo-webserver (the image's
/// ENTRYPOINT) started with the Deployment's environment: each probe path answers 200.
/// </summary>
public sealed class ProbeTests
{
    [Fact]
    public async Task Probes_OnTheRealWebserver_Answer200()
    {
        var deployment = KustomizeTests.Deployment();
        var container = Manifests.Container(deployment);
        var probes = new[] { "readinessProbe", "livenessProbe" }
            .Select(name => (Name: name, Get: container[name]?["httpGet"]))
            .ToList();
        Assert.All(probes, p => Assert.True(p.Get is not null, $"{p.Name} is an httpGet probe"));

        await using var server = await WebserverProcess.StartAsync(Fixtures.SmallRepo.ArchiveRepo, container);
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        foreach (var (name, get) in probes)
        {
            var port = get!["port"]!;
            var portNumber = port.GetValueKind() == System.Text.Json.JsonValueKind.Number ? (int)port : Manifests.ContainerPort(container, (string)port!);
            Assert.Equal(8080, portNumber);

            using var response = await client.GetAsync((string)get["path"]!, TestContext.Current.CancellationToken);

            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name} GET {get["path"]} answered {(int)response.StatusCode}");
        }

        // The same client sees a 404 for a path the server does not have, so a wrong probe path fails above.
        using var missing = await client.GetAsync("/ready", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Readiness_WhenTheRepoGoesAway_IsNotReady()
    {
        // /readyz must fail once the repo's objects are gone, or the readiness probe would
        // keep routing traffic to a pod that can only answer 404.
        var container = Manifests.Container(KustomizeTests.Deployment());
        var path = (string)container["readinessProbe"]!["httpGet"]!["path"]!;
        var repo = Path.Combine(Fixtures.TempDirectory("probe-repo"), "repo");
        Peer.Ostree(repo, "init", "--mode=archive");

        await using var server = await WebserverProcess.StartAsync(repo, container);
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        using var ready = await client.GetAsync(path, TestContext.Current.CancellationToken);
        Directory.Delete(Path.Combine(repo, "objects"), recursive: true);
        using var gone = await client.GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, gone.StatusCode);
    }

    /// <summary>The native webserver as a child process, with the container's env and a free loopback port.</summary>
    private sealed class WebserverProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private WebserverProcess(Process process, Uri baseAddress)
        {
            _process = process;
            BaseAddress = baseAddress;
        }

        public Uri BaseAddress { get; }

        public static async Task<WebserverProcess> StartAsync(string repo, System.Text.Json.Nodes.JsonObject container)
        {
            var port = FreePort();
            var psi = new ProcessStartInfo(NativeWebserver.Executable)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var env in container["env"]?.AsArray() ?? [])
            {
                psi.Environment[(string)env!["name"]!] = (string?)env["value"];
            }

            // 8080 on all interfaces in a pod; a free loopback port here (the port is checked above).
            psi.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
            foreach (var arg in new[] { "--repo", repo, "--request-logging", "false", "--cache-dir", Fixtures.TempDirectory("probe-cache") })
            {
                psi.ArgumentList.Add(arg);
            }

            var process = Process.Start(psi)!;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new WebserverProcess(process, new Uri($"http://127.0.0.1:{port}/"));
            using var client = new HttpClient { BaseAddress = server.BaseAddress };
            for (var i = 0; i < 200 && !process.HasExited; i++)
            {
                try
                {
                    using var _ = await client.GetAsync("/healthz");
                    return server;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(50);
                }
            }

            var exited = process.HasExited;
            await server.DisposeAsync();
            throw new InvalidOperationException($"repo-webserver did not listen on {server.BaseAddress} (exited: {exited})");
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
