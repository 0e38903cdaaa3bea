using System.Net;
using Microsoft.Extensions.Logging;
using OstreeContainer.RepoWebserver.Hosting;

namespace OstreeContainer.RepoWebserver.Tests.Hosting;

/// <summary>The operational surface: health, readiness, metrics and a one-line startup error.</summary>
public class RepoWebserverHostTests
{
    [Theory]
    [InlineData("healthz")]
    [InlineData("readyz")]
    public async Task Get_HealthEndpoint_Answers200(string endpoint)
    {
        await using var server = await RunningServer.StartAsync(Fixtures.SmallRepo.ArchiveRepo);
        using var http = server.CreateClient();

        using var response = await http.GetAsync(endpoint);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(server.Logs.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Get_ReadyzAfterTheRepoVanished_Answers503()
    {
        // Control for readyz: it really looks at the repo.
        using var repo = RepoCopies.Copy(Fixtures.SmallRepo.ArchiveRepo, "vanishing");
        await using var server = await RunningServer.StartAsync(repo.Path);
        using var http = server.CreateClient();
        Directory.Move(Path.Combine(repo.Path, "objects"), Path.Combine(repo.Path, "objects.gone"));

        using var response = await http.GetAsync("readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var warning = Assert.Single(server.Logs.Entries, e => e.EventId.Id == 340);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(repo.Path, warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_WithRequestLogging_LogsOneLinePerRequestThroughTheApplicationsOwnLogger()
    {
        // The request logger is this application's, not Serilog's static one: with several
        // servers in one process each logs its own requests (and a disposed one silences none).
        await using var quiet = await RunningServer.StartAsync(Fixtures.SmallRepo.ArchiveRepo);
        await using var server = await RunningServer.StartAsync(Fixtures.SmallRepo.ArchiveRepo, "--request-logging", "true");
        using var http = server.CreateClient();

        using var response = await http.GetAsync("repo/config");
        // The line is written once the response has completed, which may be after the client saw it.
        for (var i = 0; i < 100 && !server.Logs.Entries.Any(e => e.Category == "Serilog.AspNetCore.RequestLoggingMiddleware"); i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var line = Assert.Single(server.Logs.Entries, e => e.Category == "Serilog.AspNetCore.RequestLoggingMiddleware");
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Contains("/repo/config", line.Message, StringComparison.Ordinal);
        Assert.Contains("200", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(quiet.Logs.Entries, e => e.Category == "Serilog.AspNetCore.RequestLoggingMiddleware");
    }

    [Fact]
    public async Task Get_MetricsAfterARequest_CountsTheRequest()
    {
        await using var server = await RunningServer.StartAsync(Fixtures.SmallRepo.ArchiveRepo);
        using var http = server.CreateClient();
        using var summary = await http.GetAsync("repo/summary");
        using var missing = await http.GetAsync("repo/refs/heads/no-such-ref");

        var metrics = await server.MetricsAsync();

        Assert.Equal(HttpStatusCode.OK, summary.StatusCode);
        var lines = metrics.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("repo_webserver_requests_total{", StringComparison.Ordinal) && l.Contains("class=\"Summary\"", StringComparison.Ordinal) && l.Contains("status=\"200\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("repo_webserver_request_duration_seconds_count{", StringComparison.Ordinal) && l.Contains("class=\"Summary\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("repo_webserver_requests_total{", StringComparison.Ordinal) && l.Contains("class=\"Ref\"", StringComparison.Ordinal) && l.Contains("status=\"404\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_MissingRepo_Returns1WithOneErrorLine()
    {
        using var error = new StringWriter();

        var exitCode = await RepoWebserverHost.RunAsync(["--repo", "/nonexistent"], error, TestContext.Current.CancellationToken);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("repo-webserver: error:", line, StringComparison.Ordinal);
        Assert.Contains("/nonexistent", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("empty-directory")]
    [InlineData("regular-file")]
    [InlineData("config-without-objects")]
    public async Task RunAsync_NotARepo_Returns1WithOneErrorLine(string what)
    {
        var directory = Fixtures.TempDirectory("not-a-repo");
        var repo = what == "regular-file" ? Path.Combine(directory, "file") : directory;
        if (what == "regular-file")
        {
            File.WriteAllText(repo, "not a repo");
        }
        else if (what == "config-without-objects")
        {
            File.WriteAllText(Path.Combine(repo, "config"), "[core]\nrepo_version=1\nmode=archive-z2\n");
        }

        using var error = new StringWriter();

        var exitCode = await RepoWebserverHost.RunAsync(["--repo", repo, "--urls", "http://127.0.0.1:0"], error, TestContext.Current.CancellationToken);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("repo-webserver: error:", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_PortInUse_Returns1WithOneErrorLine()
    {
        using var occupant = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var port = ((IPEndPoint)occupant.LocalEndpoint).Port;
        using var error = new StringWriter();
        // Should the bind wrongly succeed, the run is stopped rather than left serving.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));

        var exitCode = await RepoWebserverHost.RunAsync(["--repo", Fixtures.SmallRepo.ArchiveRepo, "--urls", $"http://127.0.0.1:{port}", "--request-logging", "false"], error, timeout.Token);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("repo-webserver: error:", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_InvalidUpstream_Returns1WithOneErrorLine()
    {
        using var error = new StringWriter();

        var exitCode = await RepoWebserverHost.RunAsync(["--repo", Fixtures.SmallRepo.ArchiveRepo, "--upstream", "ftp://example.org/repo"], error, TestContext.Current.CancellationToken);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("repo-webserver: error:", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--inline-io", "maybe", "InlineIo")]
    [InlineData("--port", "abc", "Port")]
    public async Task RunAsync_ValueOfTheWrongType_Returns1WithOneErrorLineNamingTheSetting(string option, string value, string setting)
    {
        using var error = new StringWriter();

        var exitCode = await RepoWebserverHost.RunAsync(["--repo", Fixtures.SmallRepo.ArchiveRepo, option, value], error, TestContext.Current.CancellationToken);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("repo-webserver: error:", line, StringComparison.Ordinal);
        Assert.Contains(setting, line, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", line, StringComparison.Ordinal);
    }
}
