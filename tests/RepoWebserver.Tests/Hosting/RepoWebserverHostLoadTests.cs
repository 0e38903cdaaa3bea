using System.Diagnostics;
using System.Net;

namespace OstreeContainer.RepoWebserver.Tests.Hosting;

/// <summary>Runs alone, after the parallel tests, so the load neither slows nor is slowed by them.</summary>
[CollectionDefinition(nameof(LoadCollection), DisableParallelization = true)]
public sealed class LoadCollection;

/// <summary>A bounded load test on 127.0.0.1 against the OS-sized repo.</summary>
[Collection(nameof(LoadCollection))]
public class RepoWebserverHostLoadTests
{
    private const int Clients = 200;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Get_200ConcurrentClientsFor30Seconds_EveryResponseIsTheWholeObject()
    {
        var os = Fixtures.OsRepo;
        var objects = Directory.EnumerateFiles(Path.Combine(os.Repo, "objects"), "*", SearchOption.AllDirectories)
            .Select(f => (Url: "repo/" + Path.GetRelativePath(os.Repo, f), Size: new FileInfo(f).Length))
            .ToArray();
        await using var server = await RunningServer.StartAsync(os.Repo);
        using var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Clients,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        })
        {
            BaseAddress = server.BaseAddress,
            Timeout = TimeSpan.FromSeconds(20),
        };
        var errors = new List<string>();
        long requests = 0;
        long bytes = 0;
        var clock = Stopwatch.StartNew();

        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async client =>
        {
            var random = new Random(client);
            while (clock.Elapsed < Duration)
            {
                var (url, size) = objects[random.Next(objects.Length)];
                try
                {
                    using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                    var body = await response.Content.ReadAsByteArrayAsync();
                    if (response.StatusCode != HttpStatusCode.OK || body.Length != size)
                    {
                        lock (errors)
                        {
                            errors.Add($"{url}: {(int)response.StatusCode}, {body.Length} of {size} bytes");
                        }
                    }

                    Interlocked.Add(ref bytes, body.Length);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    lock (errors)
                    {
                        errors.Add($"{url}: {e.GetType().Name}: {e.Message}");
                    }
                }

                Interlocked.Increment(ref requests);
            }
        }));

        TestContext.Current.TestOutputHelper?.WriteLine($"load: {requests} requests, {bytes / 1e6:F0} MB in {clock.Elapsed.TotalSeconds:F1} s ({requests / clock.Elapsed.TotalSeconds:F0} req/s), {errors.Count} errors");
        Assert.Empty(errors.Take(20));
        Assert.True(requests > 10 * Clients, $"only {requests} requests were made");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(35), $"the load ran {clock.Elapsed}");
    }
}
