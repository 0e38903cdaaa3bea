using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace OstreeContainer.Deploy.Tests;

/// <summary>
/// README command one, <c>scripts/demo.sh</c>, run end to end, so the demo cannot rot. Its
/// output goes to a folder of the tests' own (OSTREE_CONTAINER_DEMO_OUT), never ./out,
/// kept between runs so its builds are incremental (about 70 s warm, minutes cold).
/// </summary>
public sealed partial class DemoTests
{
    private static readonly string[] Steps =
    [
        "install dependencies",
        "build ostree-container",
        "make the example OS tree",
        "commit it",
        "sign the commit",
        "build the OCI image",
        "skopeo inspect",
        "podman: a shell in the image",
        "serve the image's repo",
        "the real ostree pull",
        "push to a local docker-registry",
    ];

    [Fact]
    public void Demo_EndToEnd_EveryStepSucceeds()
    {
        var root = Fixtures.RepositoryRoot;
        var output = Path.Combine(Environment.GetEnvironmentVariable("OSTREE_CONTAINER_FIXTURES") ?? "/var/tmp/ostree-container-fixtures", "demo-out");
        // The demo publishes src/RepoWebserver as NativeWebserver does for other test
        // projects; their shared lock keeps two native builds of one project apart.
        var webserverLock = Path.Combine("/var/tmp/ostree-container-fixtures", "webserver", ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(webserverLock)!);

        var result = Peer.Run(
            "flock",
            [webserverLock, "bash", Path.Combine(root, "scripts", "demo.sh")],
            workingDirectory: root,
            env: new Dictionary<string, string>
            {
                ["OSTREE_CONTAINER_DEMO_OUT"] = output,
                ["OSTREE_CONTAINER_DEMO_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            timeout: TimeSpan.FromMinutes(20));
        var transcript = $"exit {result.ExitCode}\n--- stdout\n{result.Stdout}\n--- stderr\n{result.Stderr}";
        TestContext.Current.SendDiagnosticMessage(transcript);

        Assert.True(result.ExitCode == 0, transcript);
        var start = result.Stdout.LastIndexOf("== summary", StringComparison.Ordinal);
        var end = result.Stdout.IndexOf("What to run next:", start, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "the demo printed no summary followed by what to run next");
        var summary = result.Stdout[start..end];
        foreach (var step in Steps)
        {
            var line = summary.Split('\n').SingleOrDefault(l => l.TrimStart().StartsWith(step, StringComparison.Ordinal));
            Assert.True(line is not null, $"the summary has no line for '{step}':\n{summary}");
            // Only podman may be skipped: on a machine where it cannot run containers the
            // demo says so and serves the repo with `ostree-container serve` instead.
            var allowed = step.StartsWith("podman", StringComparison.Ordinal) ? OkOrSkipped() : Ok();
            Assert.Matches(allowed, line);
        }

        Assert.DoesNotContain("FAILED", summary, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "exampleos", "index.json")), "the image layout is in OSTREE_CONTAINER_DEMO_OUT/exampleos");
        // README's examples run oci:out/exampleos:stable: the demo's layout has that tag.
        Assert.Contains("\"org.opencontainers.image.ref.name\":\"stable\"", File.ReadAllText(Path.Combine(output, "exampleos", "index.json")).Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        if (!summary.Contains("skipped", StringComparison.Ordinal))
        {
            Assert.Contains("NAME=\"ExampleOS\"", result.Stdout, StringComparison.Ordinal);
        }

        // The servers and the container it started are gone (its EXIT trap).
        Assert.False(File.Exists(Path.Combine(output, "demo", "pids")), "the demo left its pid file: the cleanup trap did not run");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@": ok \(\d+ s\)$")]
    private static partial Regex Ok();

    [GeneratedRegex(@": (ok \(\d+ s\)|skipped \(podman .+\))$")]
    private static partial Regex OkOrSkipped();
}
