using System.Diagnostics;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>Bad blobs in a real registry, dropped connections, HTTP errors and stalls from a proxy, interrupted pulls.</summary>
public class FaultTests
{
    private static readonly Lazy<(string Layout, ImageBuilder.ImageBuildResult Result)> SmallImage =
        new(() => PullTestImages.Build(Fixtures.SmallRepo.ArchiveRepo, "fixture/main", "main"));

    [Fact]
    public async Task Pull_TamperedBlobInRegistry_RejectedAndRepoUnchanged()
    {
        using var registry = LocalRegistry.Start();
        var (layout, built) = SmallImage.Value;
        var image = PullTestImages.Push(registry, layout, built, "fixture/tampered", "main");
        var layer = built.Layers.First(l => l.Kind == LayerKind.Repo && l.Entries > 2).Descriptor.Digest.ToString();
        var data = File.ReadAllBytes(registry.BlobDataPath(layer));
        data[data.Length / 2] ^= 0xFF;
        File.WriteAllBytes(registry.BlobDataPath(layer), data);
        var repo = PullTestImages.NewRepo("archive");
        var before = RepoSnapshot.Of(repo);
        using var client = PullTestImages.Client();

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            ImageImporter.PullAsync(ImageImporterTests.Options(repo, image, client: client), TestContext.Current.CancellationToken));

        Assert.Contains(layer, error.Message, StringComparison.Ordinal);
        Assert.Contains("hash", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
        Assert.False(File.Exists(new BlobCache(repo).CompletePath(Digest.Parse(layer))));
    }

    [Fact]
    public async Task Pull_DamagedBlobLeftInTheCacheByAnEarlierRun_RejectedAtImportAndRepoUnchanged()
    {
        // A complete blob from an earlier run is not downloaded again, so nothing hashed it
        // in this run: the import must check it against its digest.
        using var registry = LocalRegistry.Start();
        var (layout, built) = SmallImage.Value;
        var image = PullTestImages.Push(registry, layout, built, "fixture/cached", "main");
        var layer = built.Layers.First(l => l.Kind == LayerKind.Repo && l.Entries > 2).Descriptor.Digest.ToString();
        var repo = PullTestImages.NewRepo("archive");
        var cache = new BlobCache(repo);
        Directory.CreateDirectory(cache.Directory);
        var data = File.ReadAllBytes(registry.BlobDataPath(layer));
        data[data.Length / 2] ^= 0xFF;
        File.WriteAllBytes(cache.CompletePath(Digest.Parse(layer)), data);
        var before = RepoSnapshot.Of(repo);
        using var client = PullTestImages.Client();

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            ImageImporter.PullAsync(ImageImporterTests.Options(repo, image, client: client), TestContext.Current.CancellationToken));

        Assert.Contains(layer, error.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
    }

    [Fact]
    public async Task Pull_ManifestPointsAtMissingBlob_RejectedAndRepoUnchanged()
    {
        using var registry = LocalRegistry.Start();
        var (layout, built) = SmallImage.Value;
        var image = PullTestImages.Push(registry, layout, built, "fixture/missing", "main");
        var meta = built.Layers.Single(l => l.Kind == LayerKind.Meta).Descriptor.Digest.ToString();
        File.Delete(registry.BlobDataPath(meta));
        var repo = PullTestImages.NewRepo("bare-user");
        var before = RepoSnapshot.Of(repo);
        using var client = PullTestImages.Client();

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            ImageImporter.PullAsync(ImageImporterTests.Options(repo, image, client: client), TestContext.Current.CancellationToken));

        Assert.Contains("meta layer", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal(before, RepoSnapshot.Of(repo));
    }

    [Fact]
    public async Task Pull_ConnectionDroppedMidBlob_ResumesWithRangeAndCompletes()
    {
        using var registry = LocalRegistry.Start();
        var (layout, built) = SmallImage.Value;
        PullTestImages.Push(registry, layout, built, "fixture/drop", "main");
        var meta = built.Layers.Single(l => l.Kind == LayerKind.Meta).Descriptor;
        using var proxy = new RegistryFaultProxy(registry.Port);
        proxy.Inject("GET", $"/blobs/{meta.Digest}", HttpFault.DropDuringResponseBody);
        var repo = PullTestImages.NewRepo("archive");
        using var client = PullTestImages.Client();

        var result = await ImageImporter.PullAsync(
            ImageImporterTests.Options(repo, ImageReference.Parse($"docker://{proxy.Host}/fixture/drop:main"), client: client), TestContext.Current.CancellationToken);

        Assert.Single(proxy.Log, r => r.Fault == HttpFault.DropDuringResponseBody);
        Assert.Equal(Fixtures.SmallRepo.Commit2, result.Commit);
        Peer.Ostree(repo, "fsck");
        // The dropped blob was asked for twice (the second time from where it stopped); no byte twice.
        Assert.Single(registry.Requests("GET", "/blobs/").GroupBy(r => r.Path), g => g.Count() == 2);
        var unique = built.Layers.Where(l => l.Kind is LayerKind.Repo or LayerKind.Meta).DistinctBy(l => l.Descriptor.Digest).Sum(l => l.Descriptor.Size);
        Assert.True(result.BytesTransferred <= unique, $"{result.BytesTransferred} bytes received for {unique} bytes of layers");
    }

    [Fact]
    public async Task Pull_InterruptedThenRerun_ResumesPartialAndDoesNotRefetchCompletedLayers()
    {
        using var registry = LocalRegistry.Start();
        var (layout, built) = SmallImage.Value;
        var image = PullTestImages.Push(registry, layout, built, "fixture/resume", "main");
        var meta = built.Layers.Single(l => l.Kind == LayerKind.Meta).Descriptor;
        var repo = PullTestImages.NewRepo("bare-user");
        var before = RepoSnapshot.Of(repo);
        using var client = PullTestImages.Client();
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var completed = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        var options = ImageImporterTests.Options(repo, image, client: client) with
        {
            Jobs = 1,
            Progress = p =>
            {
                if (p.Stage == PullStage.Fetch && p.Layer is { } layer && p.Done == p.Total)
                {
                    completed[layer] = true;
                }

                // Stop in the middle of the meta layer, as a kill would.
                if (p.Stage == PullStage.Fetch && p.Layer == meta.Digest.ToString() && p.Done > meta.Size / 3 && p.Done < p.Total)
                {
                    interrupt.Cancel();
                }
            },
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ImageImporter.PullAsync(options, interrupt.Token));
        Assert.Equal(before, RepoSnapshot.Of(repo));
        var partial = new FileInfo(new BlobCache(repo).PartialPath(meta.Digest));
        Assert.True(partial.Exists && partial.Length > 0 && partial.Length < meta.Size);
        var completedBefore = completed.Keys.ToList();

        var result = await ImageImporter.PullAsync(options with { Progress = null }, TestContext.Current.CancellationToken);

        Assert.Equal(Fixtures.SmallRepo.Commit2, result.Commit);
        Peer.Ostree(repo, "fsck");
        Assert.True(result.BytesTransferred <= meta.Size - partial.Length + built.Layers.Where(l => !completedBefore.Contains(l.Descriptor.Digest.ToString())).Sum(l => l.Descriptor.Size));
        foreach (var layer in completedBefore)
        {
            Assert.Single(registry.Requests("GET", $"/blobs/{layer}"));
        }

        Assert.Equal(2, registry.Requests("GET", $"/blobs/{meta.Digest}").Count);
        Assert.False(Directory.EnumerateFileSystemEntries(new BlobCache(repo).Directory).Any());
    }

    [Fact]
    public async Task Pull_500sAnd429AndStalledBody_RetriesResumesAndCompletesInBoundedTime()
    {
        using var registry = LocalRegistry.Start();
        var (layout, built) = SmallImage.Value;
        PullTestImages.Push(registry, layout, built, "fixture/flaky", "main");
        var meta = built.Layers.Single(l => l.Kind == LayerKind.Meta).Descriptor.Digest.ToString();
        var repoLayers = built.Layers.Where(l => l.Kind == LayerKind.Repo).Select(l => l.Descriptor)
            .DistinctBy(d => d.Digest).OrderByDescending(d => d.Size).ToList();
        var (stalled, failing) = (repoLayers[0].Digest.ToString(), repoLayers[1].Digest.ToString());
        using var proxy = new RegistryFaultProxy(registry.Port, (method, path, seen) =>
            method != "GET" ? HttpFault.None
            : path.EndsWith(meta, StringComparison.Ordinal) && seen == 0 ? HttpFault.TooManyRequests
            : path.EndsWith(failing, StringComparison.Ordinal) && seen < 2 ? HttpFault.ServerError
            : path.EndsWith(stalled, StringComparison.Ordinal) && seen == 0 ? HttpFault.StallDuringResponseBody
            : HttpFault.None);
        var repo = PullTestImages.NewRepo("archive");
        using var client = FlakyClient(idleTimeout: TimeSpan.FromSeconds(1));
        var clock = Stopwatch.StartNew();

        var result = await ImageImporter.PullAsync(
            ImageImporterTests.Options(repo, ImageReference.Parse($"docker://{proxy.Host}/fixture/flaky:main"), client: client), TestContext.Current.CancellationToken);

        clock.Stop();
        Assert.Equal(Fixtures.SmallRepo.Commit2, result.Commit);
        Peer.Ostree(repo, "fsck");
        Assert.Empty(TreeDiff.Compare(
            PullTestImages.Checkout(Fixtures.SmallRepo.ArchiveRepo, Fixtures.SmallRepo.Commit2),
            PullTestImages.Checkout(repo, "fixture/main")));
        var log = proxy.Log;
        Assert.Single(log, r => r.Fault == HttpFault.TooManyRequests);
        Assert.Equal(2, log.Count(r => r.Fault == HttpFault.ServerError));
        var stall = Assert.Single(log, r => r.Fault == HttpFault.StallDuringResponseBody);
        // The stalled blob continued from the bytes already on disk, not from byte 0.
        var resumed = Assert.Single(log, r => r.Path == stall.Path && r.Fault == HttpFault.None);
        Assert.StartsWith("bytes=", resumed.Range, StringComparison.Ordinal);
        Assert.NotEqual("bytes=0-", resumed.Range);
        // Retry-After 1 s, two short backoffs, one 1 s idle timeout: a few seconds, not minutes.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        TestContext.Current.TestOutputHelper?.WriteLine($"pull through 429, 2x500 and a stall: {clock.Elapsed.TotalSeconds:F1} s, {log.Count} requests, resumed with {resumed.Range}");
    }

    [Fact]
    public async Task Pull_RegistryKeepsFailing_FailsWithOneLineAndRepoUnchanged()
    {
        using var registry = LocalRegistry.Start();
        var (layout, built) = SmallImage.Value;
        PullTestImages.Push(registry, layout, built, "fixture/broken", "main");
        var failing = built.Layers.First(l => l.Kind == LayerKind.Repo && l.Entries > 2).Descriptor.Digest.ToString();
        // The repo holds fixture/v1, which the image's delta starts from: that layer fails
        // too, the pull falls back to the repo layers, and fails there.
        var deltas = built.Layers.Where(l => l.Kind == LayerKind.Delta).Select(l => l.Descriptor.Digest.ToString()).ToList();
        Assert.NotEmpty(deltas);
        using var proxy = new RegistryFaultProxy(registry.Port, (method, path, _) =>
            method == "GET" && (path.EndsWith(failing, StringComparison.Ordinal) || deltas.Exists(d => path.EndsWith(d, StringComparison.Ordinal))) ? HttpFault.ServerError : HttpFault.None);
        var repo = PullTestImages.NewRepo("bare-user");
        // A repo that already holds something, so "unchanged" is not just "empty".
        Peer.Ostree(repo, "pull-local", Fixtures.SmallRepo.ArchiveRepo, "fixture/v1");
        var before = RepoSnapshot.Of(repo);
        using var client = FlakyClient(idleTimeout: TimeSpan.FromSeconds(5));
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<ImagePullException>(() => ImageImporter.PullAsync(
            ImageImporterTests.Options(repo, ImageReference.Parse($"docker://{proxy.Host}/fixture/broken:main"), client: client), TestContext.Current.CancellationToken));

        clock.Stop();
        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("500", error.Message, StringComparison.Ordinal);
        Assert.Contains("layer", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
        // The retry budget is bounded: the first try and MaxRetries more, then the pull gives up.
        Assert.Equal(1 + 2, proxy.Log.Count(r => r.Path.EndsWith(failing, StringComparison.Ordinal)));
        Assert.Contains(proxy.Log, r => deltas.Exists(d => r.Path.EndsWith(d, StringComparison.Ordinal)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        TestContext.Current.TestOutputHelper?.WriteLine($"gave up after {clock.Elapsed.TotalSeconds:F1} s: {error.Message}");
    }

    private static RegistryClient FlakyClient(TimeSpan idleTimeout) => new(new RegistryClientOptions
    {
        TlsVerify = false,
        MaxRetries = 2,
        InitialBackoff = TimeSpan.FromMilliseconds(50),
        IdleTimeout = idleTimeout,
    });
}
