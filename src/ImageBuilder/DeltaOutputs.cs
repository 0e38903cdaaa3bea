using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.ImageBuilder;

/// <summary>A delta's files, wherever they are (the repo's <c>deltas/</c> or the build's scratch directory).</summary>
/// <param name="Name">From and to.</param>
/// <param name="Directory">The directory holding <c>superblock</c> and the parts.</param>
/// <param name="SuperblockDigest">SHA-256 of the superblock file (listed in the summary and delta index).</param>
/// <param name="Bytes">Bytes of all its files (the layer's size annotation).</param>
internal sealed record DeltaFiles(DeltaName Name, string Directory, Checksum SuperblockDigest, long Bytes)
{
    /// <summary>The entry <see cref="SummaryBuilder"/> and <see cref="DeltaIndex"/> take.</summary>
    public StaticDelta ToStaticDelta() => new(Name, Path.Combine(Directory, DeltaName.SuperblockFileName), SuperblockDigest);

    /// <summary>Reads the directory of a delta: its files' total size and the superblock's digest.</summary>
    public static DeltaFiles Read(DeltaName name, string directory)
    {
        var bytes = System.IO.Directory.EnumerateFiles(directory).Sum(f => new FileInfo(f).Length);
        using var superblock = File.OpenRead(Path.Combine(directory, DeltaName.SuperblockFileName));
        return new DeltaFiles(name, directory, Checksum.FromBytes(SHA256.HashData(superblock)), bytes);
    }
}

/// <summary>
/// The deltas of one build, as they become available. Carried ones are read at once;
/// missing ones are generated in the background, one after another, into a scratch
/// directory that is removed when this is disposed, while the layer jobs run: a delta
/// layer waits for its own delta, the meta layer for all of them (it lists their
/// superblock digests).
/// </summary>
internal sealed class DeltaOutputs : IAsyncDisposable
{
    // Generated parts are spread over this many xz streams whatever the machine's cores,
    // so the delta's bytes (and the image's digest) never depend on the machine.
    private const int SpreadParts = 2;

    private readonly Dictionary<DeltaName, Task<DeltaFiles>> _files;
    private readonly CancellationTokenSource _cancel;
    private readonly string? _scratch;
    private readonly Task _generation;

    private DeltaOutputs(CancellationTokenSource cancel, string? scratch, Task generation, Dictionary<DeltaName, Task<DeltaFiles>> files)
    {
        _cancel = cancel;
        _scratch = scratch;
        _generation = generation;
        _files = files;
    }

    /// <summary>
    /// Reads the carried deltas of <paramref name="plan"/> and starts generating the others
    /// (from-commit deltas first, from-scratch last: the small ones are ready soonest).
    /// </summary>
    public static DeltaOutputs Start(OstreeRepo repo, ImagePlan plan, ImageBuildOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var files = new Dictionary<DeltaName, Task<DeltaFiles>>();
        foreach (var delta in plan.Deltas.Where(d => d.Origin == DeltaOrigin.Carried))
        {
            var read = DeltaFiles.Read(delta.Name, delta.CarriedDirectory!);
            Log.DeltaCarried(logger, delta.FromText, delta.Name.To, read.Bytes / 1e6);
            files[delta.Name] = Task.FromResult(read);
        }

        var generate = plan.Deltas.Where(d => d.Origin == DeltaOrigin.Generated).OrderBy(d => d.Name.IsFromScratch).ToList();
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (generate.Count == 0)
        {
            return new DeltaOutputs(cancel, null, Task.CompletedTask, files);
        }

        var scratch = Path.Combine(Path.GetTempPath(), $"ostree-container-deltas-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        var sources = generate.ToDictionary(d => d.Name, _ => new TaskCompletionSource<DeltaFiles>(TaskCreationOptions.RunContinuationsAsynchronously));
        foreach (var (name, source) in sources)
        {
            files[name] = source.Task;
        }

        var generateOptions = new DeltaGenerateOptions
        {
            CompressionPreset = options.Deltas.CompressionPreset,
            MaxParallelism = Math.Max(1, options.Parallelism),
            SpreadParts = SpreadParts,

            // The superblock's timestamp is the commit's, so a rebuild gives the same bytes.
            TimeProvider = new FixedTime(plan.Source.Commit.Time),
        };
        var token = cancel.Token;
        var generation = Task.Run(
            async () =>
            {
                var index = 0;
                foreach (var delta in generate)
                {
                    var source = sources[delta.Name];
                    try
                    {
                        var watch = Stopwatch.StartNew();
                        var output = Path.Combine(scratch, (index++).ToString(System.Globalization.CultureInfo.InvariantCulture));
                        var result = await DeltaGenerator.GenerateAsync(repo, delta.Name.From, delta.Name.To, generateOptions with { OutputDirectory = output }, token).ConfigureAwait(false);
                        var read = DeltaFiles.Read(delta.Name, result.Directory);
                        Log.DeltaGenerated(logger, delta.FromText, delta.Name.To, result.Parts, read.Bytes / 1e6, watch.Elapsed.TotalSeconds);
                        source.SetResult(read);
                    }
                    catch (Exception e)
                    {
                        // This delta and every later one fail with the cause; whoever awaits them throws it.
                        foreach (var rest in generate.SkipWhile(d => d.Name != delta.Name))
                        {
                            sources[rest.Name].TrySetException(e);
                        }

                        return;
                    }
                }
            },
            CancellationToken.None);
        return new DeltaOutputs(cancel, scratch, generation, files);
    }

    /// <summary>The files of delta <paramref name="name"/>, once they exist.</summary>
    /// <exception cref="InvalidDataException">Generating it failed on bad data (thrown as itself).</exception>
    public Task<DeltaFiles> GetAsync(DeltaName name) => _files[name];

    /// <summary>Every delta's files, in the plan's order, once all exist.</summary>
    public async Task<IReadOnlyList<DeltaFiles>> GetAllAsync(IEnumerable<PlannedDelta> deltas)
    {
        var all = new List<DeltaFiles>();
        foreach (var delta in deltas)
        {
            all.Add(await _files[delta.Name].ConfigureAwait(false));
        }

        return all;
    }

    /// <summary>Stops a generation still running, waits for it, and removes the scratch directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await _cancel.CancelAsync().ConfigureAwait(false);
        await _generation.ConfigureAwait(false);
        _cancel.Dispose();
        if (_scratch is not null && Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    private sealed class FixedTime(DateTimeOffset time) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => time;
    }
}
