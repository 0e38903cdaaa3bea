using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OstreeContainer.RepoWebserver.Tests.Hosting;

/// <summary>
/// The server as it ships: one NativeAOT executable plus libe_sqlite3.so, needing only the
/// C library. Published once for this class (about two minutes on 2 cores), then run as a
/// real process against the OS repo: it answers, serves the object map, and logs JSON.
/// </summary>
public sealed class NativeExecutableTests : IClassFixture<NativeExecutableTests.Published>
{
    private readonly Published _published;

    public NativeExecutableTests(Published published) => _published = published;

    [Fact]
    public void Publish_Executable_IsNativeSmallAndNeedsOnlyTheCLibrary()
    {
        var exe = new FileInfo(Path.Combine(_published.Directory, "repo-webserver"));
        var ldd = Peer.Check("ldd", exe.FullName);
        var libraries = ldd.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Trim().Split(' ')[0])
            .Where(l => !l.StartsWith("linux-vdso", StringComparison.Ordinal) && !l.StartsWith("/lib64/ld-linux", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();

        Assert.False(File.Exists(Path.Combine(_published.Directory, "repo-webserver.dll")), "a JIT build was published, not NativeAOT");
        Assert.True(exe.Length <= 20_000_000, $"repo-webserver is {exe.Length} bytes, over 20 MB");
        Assert.True(File.Exists(Path.Combine(_published.Directory, "libe_sqlite3.so")), "libe_sqlite3.so must ship beside the executable");
        Assert.All(libraries, l => Assert.Matches(@"^lib(c|m|dl|pthread|rt)\.so\.\d+$", l));
    }

    [Fact]
    public async Task Run_AgainstOsRepoWithObjectMap_ServesRepoAndMapAndLogsJson()
    {
        var os = Fixtures.OsRepo;
        var map = Path.Combine(Fixtures.TempDirectory("aot-map"), "object-map");
        ObjectMap.ObjectMapBuilder.Build(Ostree.Repository.OstreeRepo.Open(os.Repo), [os.Commit2], map);
        var port = FreePort();
        using var process = Process.Start(new ProcessStartInfo(Path.Combine(_published.Directory, "repo-webserver"))
        {
            ArgumentList = { "--repo", os.Repo, "--object-map", map, "--urls", $"http://127.0.0.1:{port}" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Fixtures.TempDirectory("aot-run"),
        })!;
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await WaitReadyAsync(http);

            var refText = await http.GetStringAsync("repo/refs/heads/" + os.Branch);
            var entry = await http.GetStringAsync("object-map/paths/usr/lib/os-release");
            using var missing = await http.GetAsync("repo/objects/00/" + new string('0', 62) + ".filez");
            await Task.Delay(500);

            Assert.Equal(os.Commit2, refText.Trim());
            Assert.Contains("\"path\":\"/usr/lib/os-release\"", entry, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            string text;
            lock (log)
            {
                text = log.ToString();
            }

            Assert.Contains("\"RequestPath\":\"/repo/refs/heads/" + os.Branch + "\"", text, StringComparison.Ordinal);
            Assert.All(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.StartsWith("{\"@t\":", l, StringComparison.Ordinal));
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Run_RequestLoggingOff_LogsAWarningWithItsEventAndExceptionAsJsonAndNothingBelowTheLevels()
    {
        // Serilog's one trim warning is suppressed in the project file because no logging
        // path of this executable needs what it warns about: this runs them in the binary as
        // shipped. A summary that cannot be made (a ref naming a missing commit) answers 404
        // and logs a source-generated warning with its exception; an object-map lookup
        // without a map logs at Debug, below the minimum; request lines are off.
        var repo = Fixtures.TempDirectory("aot-logging");
        Peer.Check("cp", "-a", Fixtures.SmallRepo.ArchiveRepo, Path.Combine(repo, "repo"));
        repo = Path.Combine(repo, "repo");
        File.Delete(Path.Combine(repo, "summary"));
        File.Delete(Path.Combine(repo, "summary.sig"));
        File.WriteAllText(Path.Combine(repo, "refs/heads/partial"), new string('a', 64) + "\n");
        var port = FreePort();
        using var process = Process.Start(new ProcessStartInfo(Path.Combine(_published.Directory, "repo-webserver"))
        {
            ArgumentList = { "--repo", repo, "--urls", $"http://127.0.0.1:{port}", "--request-logging", "false" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Fixtures.TempDirectory("aot-logging-run"),
        })!;
        var lines = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                lock (lines)
                {
                    lines.Add(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await WaitReadyAsync(http);

            using var summary = await http.GetAsync("repo/summary");
            using var lookup = await http.GetAsync("object-map/commits");
            var refText = await http.GetStringAsync("repo/refs/heads/fixture/main");
            await Task.Delay(500);

            Assert.Equal(HttpStatusCode.NotFound, summary.StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, lookup.StatusCode);
            Assert.Equal(Fixtures.SmallRepo.Commit2, refText.Trim());
            List<System.Text.Json.JsonElement> events;
            lock (lines)
            {
                events = [.. lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.Clone())];
            }

            // Compact JSON leaves @l out for Information.
            static string Level(System.Text.Json.JsonElement e) => e.TryGetProperty("@l", out var l) ? l.GetString()! : "Information";
            static string Category(System.Text.Json.JsonElement e) => e.TryGetProperty("SourceContext", out var c) ? c.GetString()! : "";
            var warning = Assert.Single(events, e => e.TryGetProperty("EventId", out var id) && id.GetProperty("Id").GetInt32() == 301);
            Assert.Equal("Warning", Level(warning));
            Assert.Equal("OstreeContainer.RepoWebserver.Serving.GeneratedSummary", Category(warning));
            Assert.Equal(repo, warning.GetProperty("Repo").GetString());
            Assert.StartsWith("cannot generate a summary for {Repo}", warning.GetProperty("@mt").GetString(), StringComparison.Ordinal);
            Assert.Contains(new string('a', 64), warning.GetProperty("@x").GetString(), StringComparison.Ordinal);
            // The lifetime's start-up lines pass at Information; ASP.NET Core below Warning,
            // Debug entries and request lines do not.
            Assert.Contains(events, e => Category(e) == "Microsoft.Hosting.Lifetime" && Level(e) == "Information");
            Assert.DoesNotContain(events, e => Category(e).StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && Level(e) is "Information" or "Debug" or "Verbose");
            Assert.DoesNotContain(events, e => Level(e) is "Debug" or "Verbose");
            Assert.DoesNotContain(events, e => e.TryGetProperty("RequestPath", out _));
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    [Theory]
    [InlineData(null, 2)]
    [InlineData("false", 1)]
    public async Task Run_InlineIo_GivesEveryCoreASocketEventThreadUnlessTurnedOff(string? inlineIo, int expectedEventThreads)
    {
        // The runtime runs one socket event thread unless inline completions are on, and then
        // one per core: the thread count shows the executable switched them on before its
        // first socket operation. Two cores are simulated so the two cases differ anywhere.
        var port = FreePort();
        var start = new ProcessStartInfo(Path.Combine(_published.Directory, "repo-webserver"))
        {
            ArgumentList = { "--repo", Fixtures.SmallRepo.ArchiveRepo, "--urls", $"http://127.0.0.1:{port}", "--request-logging", "false" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Fixtures.TempDirectory("aot-inline"),
        };
        start.Environment["DOTNET_PROCESSOR_COUNT"] = "2";
        start.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");
        if (inlineIo is not null)
        {
            start.ArgumentList.Add("--inline-io");
            start.ArgumentList.Add(inlineIo);
        }

        using var process = Process.Start(start)!;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await WaitReadyAsync(http);
            var summary = await http.GetByteArrayAsync("repo/summary");

            var eventThreads = System.IO.Directory.GetDirectories($"/proc/{process.Id}/task")
                .Count(t => File.ReadAllText(Path.Combine(t, "comm")).Trim() == ".NET Sockets");

            Assert.NotEmpty(summary);
            Assert.Equal(expectedEventThreads, eventThreads);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    private static async Task WaitReadyAsync(HttpClient http)
    {
        for (var i = 0; i < 200; i++)
        {
            try
            {
                using var response = await http.GetAsync("readyz");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("the native repo-webserver did not become ready in 10 s");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The NativeAOT publish shared by every test project (see <see cref="NativeWebserver"/>).</summary>
    public sealed class Published
    {
        public string Directory { get; } = NativeWebserver.Directory;
    }
}
