using OstreeContainer.Oci.Layers;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.ImageBuilder;

/// <summary>
/// Writes the layers of an <see cref="ImagePlan"/> into a layout, several at once. Each
/// layer is written by one worker from start to end, so its bytes never depend on the
/// scheduling; only the time the build takes does.
/// </summary>
internal static class LayerJobs
{
    // Every entry's mtime. OSTree stores no mtimes: deployed files all carry 0 (the epoch),
    // and so do ours. A per-commit time would change every layer on every commit.
    private static readonly DateTimeOffset EntryTime = DateTimeOffset.UnixEpoch;

    // zlib level 0 writes stored blocks: the bytes as they are, with a CRC-32.
    private const int StoredGzipLevel = 0;

    // zstd has no stored level; its fastest level passes incompressible blocks through raw.
    private const int FastestZstdLevel = 1;

    /// <summary>
    /// Writes every layer of <paramref name="plan"/>, at most
    /// <see cref="ImageBuildOptions.Parallelism"/> at once, and returns them in plan order.
    /// <paramref name="built"/> hears of each layer as it completes (in completion order).
    /// Delta layers take their files from <paramref name="deltas"/>, waiting for a delta
    /// still being generated; so does the meta layer, once its object map is built.
    /// </summary>
    /// <exception cref="InvalidDataException">An object of the repo is corrupt (the first failure is thrown as itself).</exception>
    public static async Task<IReadOnlyList<BuiltLayer>> WriteAllAsync(
        ImageLayout layout,
        OstreeRepo repo,
        ImagePlan plan,
        DeltaOutputs deltas,
        ImageBuildOptions options,
        Action<LayerPlan, BuiltLayer> built,
        CancellationToken cancellationToken)
    {
        var layers = plan.Layers;
        var results = new BuiltLayer?[layers.Count];

        // Largest first (a stable sort, so equal weights keep plan order): the long jobs
        // start early and the short ones fill in at the end, so every core stays busy until
        // the last layer is done. The loop hands out one job at a time; on the first
        // failure it cancels the token the other jobs check, and awaiting it throws that
        // first failure as itself (one clear line, not "one or more errors").
        await Parallel.ForEachAsync(
            Enumerable.Range(0, layers.Count).OrderByDescending(i => Weight(layers[i])),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism), CancellationToken = cancellationToken },
            async (i, token) =>
            {
                var layer = await WriteAsync(layout, repo, plan, deltas, layers[i], options, token).ConfigureAwait(false);
                results[i] = layer;
                built(layers[i], layer);
            }).ConfigureAwait(false);

        return results.Select(r => r!).ToList();
    }

    // Estimated cost of a job in tree-layer bytes, used only to order the jobs. These are
    // orderings, not measurements, and a wrong one only makes the build slower:
    // - a tree layer reads, re-hashes and compresses each content byte at the default
    //   level: weight = its content bytes;
    // - a repo layer holds the same chunk's objects as .filez: DEFLATE streams, taken as
    //   about half the content bytes, copied into stored blocks, which costs about a
    //   quarter of what compressing a byte does; hence an eighth of the chunk's file bytes.
    //   (It was half when repo layers were compressed at level 1, and a further quarter
    //   when they became a copy.) That puts the repo chunks after the tree chunks they
    //   mirror, as cheap fill at the end;
    // - a carried delta layer counts its file bytes; a generated one goes last: it waits
    //   for the generator, which started before any layer job and runs beside them;
    // - the meta layer goes first: its cost is not known from sizes (it walks the whole
    //   commit again to build the object map), and started first it never ends the build.
    //   Once its map is built it waits for the deltas' superblock digests, if any are
    //   still being generated.
    private static long Weight(LayerPlan layer) => layer switch
    {
        TreeLayerPlan tree => tree.Entries.Sum(e => e.Size),
        RepoLayerPlan chunk => chunk.FileBytes / 8,
        DeltaLayerPlan { Delta.Origin: DeltaOrigin.Carried } delta => Directory.EnumerateFiles(delta.Delta.CarriedDirectory!).Sum(f => new FileInfo(f).Length),
        DeltaLayerPlan => 0,
        _ => long.MaxValue,
    };

    /// <summary>
    /// The compression level of a layer: the codec's default for tree and meta layers;
    /// the cheapest for a payload that is already compressed. On the OS fixture gzip level
    /// 1 saved 2.6 % of the repo layers' bytes, and inflating its coded literals cost every
    /// pull about 0.3 of its 3.3 CPU-s, where stored blocks are a copy. Those layers are
    /// still gzip, not plain tar: skopeo and podman compress plain-tar layers when they
    /// copy an image, changing its digests. (<see cref="LayerCompression.None"/> ignores
    /// the level.)
    /// </summary>
    private static int CompressionLevel(LayerCompression compression, bool precompressed) => (compression, precompressed) switch
    {
        (LayerCompression.Zstd, false) => LayerWriter.DefaultZstdLevel,
        (LayerCompression.Zstd, true) => FastestZstdLevel,
        (_, false) => LayerWriter.DefaultGzipLevel,
        (_, true) => StoredGzipLevel,
    };

    private static async Task<BuiltLayer> WriteAsync(
        ImageLayout layout, OstreeRepo repo, ImagePlan plan, DeltaOutputs deltas, LayerPlan layer, ImageBuildOptions options, CancellationToken cancellationToken)
    {
        // What a layer waits for is awaited before its blob is begun: a delta still being
        // generated, and for the meta layer (after its costly object map) every delta.
        DeltaFiles? deltaFiles = null;
        IReadOnlyList<DeltaFiles> metaDeltas = [];
        string? objectMap = null;
        try
        {
            switch (layer)
            {
                case DeltaLayerPlan delta:
                    deltaFiles = await deltas.GetAsync(delta.Delta.Name).WaitAsync(cancellationToken).ConfigureAwait(false);
                    break;
                case MetaLayerPlan:
                    objectMap = LayerContent.BuildObjectMap(repo, plan.Source.Checksum, cancellationToken);
                    metaDeltas = await deltas.GetAllAsync(plan.Deltas).WaitAsync(cancellationToken).ConfigureAwait(false);
                    break;
            }

            return Write(layout, repo, plan, layer, deltaFiles, metaDeltas, objectMap, options, cancellationToken);
        }
        finally
        {
            if (objectMap is not null)
            {
                File.Delete(objectMap);
            }
        }
    }

    private static BuiltLayer Write(
        ImageLayout layout,
        OstreeRepo repo,
        ImagePlan plan,
        LayerPlan layer,
        DeltaFiles? deltaFiles,
        IReadOnlyList<DeltaFiles> metaDeltas,
        string? objectMap,
        ImageBuildOptions options,
        CancellationToken cancellationToken)
    {
        using var staged = layout.BeginBlob();
        LayerResult result;
        using (var writer = new LayerWriter(staged.Stream, options.Compression, EntryTime, CompressionLevel(options.Compression, layer.Precompressed)))
        {
            switch (layer)
            {
                case TreeLayerPlan tree:
                    LayerContent.WriteTree(writer, repo, plan.Source.Tree, tree.Entries, tree.Whiteouts, cancellationToken);
                    break;
                case RepoLayerPlan chunk:
                    LayerContent.WriteRepo(writer, repo, chunk.Objects, cancellationToken);
                    break;
                case DeltaLayerPlan:
                    LayerContent.WriteDelta(writer, deltaFiles!);
                    break;
                case MetaLayerPlan:
                    LayerContent.WriteMeta(writer, repo, plan.Source, [.. metaDeltas.Select(d => d.ToStaticDelta())], objectMap!, options.WebserverExecutable, cancellationToken);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(layer), layer, "unknown layer plan");
            }

            result = writer.Complete();
        }

        var annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [ImageAnnotationKeys.LayerKind] = LayerKinds.ToAnnotation(layer.Kind),
        };
        if (deltaFiles is not null)
        {
            // From, to and size: a puller chooses a delta from the manifest alone.
            foreach (var (key, value) in DeltaLayerAnnotations.Create(new DeltaLayerInfo(deltaFiles.Name.From?.ToString(), deltaFiles.Name.To.ToString(), deltaFiles.Bytes)))
            {
                annotations[key] = value;
            }
        }

        var descriptor = staged.Commit(result.MediaType, result.Digest) with { Annotations = annotations };
        return new BuiltLayer(layer.Kind, descriptor, result.DiffId, result.Entries, result.UncompressedSize);
    }
}
