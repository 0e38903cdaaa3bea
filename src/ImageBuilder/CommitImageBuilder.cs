using System.IO.Compression;
using System.Text;
using Microsoft.Extensions.Logging;
using OstreeContainer.ImageBuilder.Derivation;
using OstreeContainer.ObjectMap;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layers;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.ImageBuilder;

/// <summary>
/// Turns an OSTree commit into an OCI image in an image layout: tree layers (the commit
/// checked out), repo layers (its <c>.filez</c> objects, chunked like the tree), one layer
/// per static delta to the commit, and a meta layer (repo metadata, the object map and
/// the webserver). Every byte depends only on the commit, the options and this tool's
/// version, so rebuilding gives the same manifest digest.
/// </summary>
public static class CommitImageBuilder
{
    /// <summary>Where the image's repo lives.</summary>
    public const string RepoDirectory = "ostree/repo";

    /// <summary>Where the object map lives.</summary>
    public const string ObjectMapPath = "ostree/object-map";

    /// <summary>Where the webserver lives (the entrypoint).</summary>
    public const string WebserverPath = "ostree/repo-webserver";

    /// <summary>The port the webserver listens on.</summary>
    public const string ExposedPort = "8080/tcp";

    // Repo and delta layers carry data that is already compressed (.filez are DEFLATE
    // streams, delta parts are compressed too), so gzip stores them (level 0: stored
    // blocks). On the OS fixture level 1 saved 2.6 % of the repo layers' bytes, and
    // inflating its coded literals cost every pull about 0.3 of its 3.3 CPU-s, where
    // stored blocks are a copy. They are still gzip, not plain tar: skopeo
    // and podman compress plain-tar layers when they copy an image, changing its digests.
    // zstd has no stored level; its fastest passes incompressible blocks through raw.
    private static int PrecompressedLevel(LayerCompression compression) => compression == LayerCompression.Zstd ? 1 : 0;

    // Every entry's mtime. OSTree stores no mtimes: deployed files all carry 0 (the epoch),
    // and so do ours. A per-commit time would change every layer on every commit.
    private static readonly DateTimeOffset EntryTime = DateTimeOffset.UnixEpoch;

    private static readonly TarEntryMetadata RootDirectory = new(Convert.ToInt32("755", 8), 0, 0);
    private static readonly TarEntryMetadata RootFile = new(Convert.ToInt32("644", 8), 0, 0);
    private static readonly TarEntryMetadata RootExecutable = new(Convert.ToInt32("755", 8), 0, 0);

    /// <summary>
    /// Builds the image into the OCI layout at <paramref name="directory"/> (created when
    /// missing) and tags it <paramref name="tag"/> in <c>index.json</c>, which is written
    /// last. When the build fails, a layout this call created is removed; an existing one
    /// keeps its index unchanged (new blobs may remain, unreferenced).
    /// </summary>
    public static ImageBuildResult BuildToLayout(string directory, string? tag, ImageBuildOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Base is not null)
        {
            throw new ArgumentException("a derived build reads its base asynchronously: use BuildToLayoutAsync", nameof(options));
        }

        // Without a base the async path awaits nothing and completes on this thread.
        return BuildToLayoutAsync(directory, tag, options, cancellationToken).GetAwaiter().GetResult();
    }

    /// <summary>
    /// Like <see cref="BuildToLayout"/>, and also derives from <see cref="ImageBuildOptions.Base"/>
    /// when one is given: its blobs are copied into the layout (unless
    /// <see cref="ImageBuildOptions.CopyBaseBlobs"/> is false) and its filesystem is read
    /// before the build. A tampered base fails the build and leaves no layout it created.
    /// </summary>
    public static async Task<ImageBuildResult> BuildToLayoutAsync(string directory, string? tag, ImageBuildOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(options);
        var created = !Directory.Exists(directory) || !Directory.EnumerateFileSystemEntries(directory).Any();
        try
        {
            var layout = ImageLayout.OpenOrCreate(directory);
            if (options.Base is { } baseImage)
            {
                if (options.CopyBaseBlobs)
                {
                    await baseImage.CopyBlobsToAsync(layout, cancellationToken).ConfigureAwait(false);
                }

                await baseImage.ReadFilesystemAsync(options.LoggerFactory, cancellationToken).ConfigureAwait(false);
            }

            var result = Build(layout, options, cancellationToken);
            layout.SetManifest(result.Manifest, tag);
            return result;
        }
        catch when (created)
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Builds the image into <paramref name="layout"/> and returns it; the caller tags it
    /// (see <see cref="ImageLayout.SetManifest"/>) once it wants the image visible.
    /// </summary>
    /// <exception cref="InvalidDataException">The repository or an object in it is corrupt.</exception>
    /// <exception cref="ArgumentException">The options are inconsistent (named in the message).</exception>
    public static ImageBuildResult Build(ImageLayout layout, ImageBuildOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(options);
        var logger = options.LoggerFactory.CreateLogger(typeof(CommitImageBuilder));
        if (!File.Exists(options.WebserverExecutable))
        {
            throw new FileNotFoundException($"repo-webserver executable not found at {options.WebserverExecutable}", options.WebserverExecutable);
        }

        var repo = OstreeRepo.Open(options.RepoPath);
        var checksum = repo.ResolveRev(options.Rev);
        var refName = Checksum.TryParse(options.Rev, out _) ? null : options.Rev;
        var commitBytes = repo.ReadMetadataBytes(checksum, ObjectType.Commit);
        if (Checksum.Compute(commitBytes) != checksum)
        {
            throw new InvalidDataException($"commit {checksum} is corrupt: it hashes to {Checksum.Compute(commitBytes)}");
        }

        var commit = Commit.Parse(commitBytes);
        var commitMeta = repo.TryReadMetadataBytes(checksum, ObjectType.CommitMeta);
        var tree = CommitTree.Read(repo, commit, cancellationToken);
        if (options.Base is null && ElfInterpreter.Read(options.WebserverExecutable) is { } loader && !tree.ResolvesToFile(loader))
        {
            // The kernel starts the loader first; without it the entrypoint fails with ENOENT.
            Log.LoaderMissing(logger, checksum, loader);
        }

        var deltas = StaticDeltas.List(repo.Path).Where(d => d.Name.To == checksum).OrderBy(d => d.Name.ToString(), StringComparer.Ordinal).ToList();

        var chunkCount = (options.MaxLayers - 1 - deltas.Count) / 2;
        if (chunkCount < 1)
        {
            throw new ArgumentException(
                $"--max-layers {options.MaxLayers} is too small: this commit needs at least {3 + deltas.Count} (one tree and one repo layer, {deltas.Count} delta layers and the meta layer)");
        }

        var baseImage = options.Base;
        var baseLayers = baseImage?.Layers.Count ?? 0;
        DerivationPlan? plan = null;
        if (baseImage is not null)
        {
            // Overlay stacks at most MaxImageLayers: fewer chunks of our own when the base is deep.
            var room = (ImageBuildOptions.MaxImageLayers - baseLayers - 1 - deltas.Count) / 2;
            if (room < 1)
            {
                throw new ArgumentException(
                    $"base image {baseImage.Reference} has {baseLayers} layers; with the {3 + deltas.Count} this commit needs at least, the image would have more than {ImageBuildOptions.MaxImageLayers}");
            }

            chunkCount = Math.Min(chunkCount, room);
            plan = DerivationPlan.Compute(tree, baseImage.Filesystem ?? throw new InvalidOperationException("read the base's filesystem (BaseImage.ReadFilesystemAsync) before building"));
        }

        var items = tree.Entries.Where(e => e.Path.Length > 0).ToList();
        var assignment = Chunking.Assign(items.Select(e => (e.Path, e.Size)).ToList(), chunkCount);
        chunkCount = assignment.Length == 0 ? 1 : assignment[^1] + 1;
        var treeChunks = Enumerable.Range(0, chunkCount).Select(_ => new List<TreeEntry>()).ToList();
        var repoChunks = Enumerable.Range(0, chunkCount).Select(_ => new List<Checksum>()).ToList();
        var placed = new HashSet<Checksum>();
        for (var i = 0; i < items.Count; i++)
        {
            treeChunks[assignment[i]].Add(items[i]);
            if (items[i].Kind != TreeEntryKind.Directory && placed.Add(items[i].Object))
            {
                repoChunks[assignment[i]].Add(items[i].Object);
            }
        }

        Log.CommitPlanned(logger, checksum, items.Count, tree.ContentBytes / 1e6, chunkCount, deltas.Count);
        var repoWeights = treeChunks.Select(chunk => chunk.Where(e => e.Kind == TreeEntryKind.File).Sum(e => e.Size) / 2).ToList();
        IReadOnlyList<string> whiteouts = [];
        if (plan is not null)
        {
            // Chunk membership stays that of the whole tree (the repo layers use it); a tree
            // chunk keeps only what differs from the base, and empty ones are left out.
            var changed = plan.Changed.ToHashSet();
            treeChunks = treeChunks.Select(chunk => chunk.Where(changed.Contains).ToList()).Where(chunk => chunk.Count > 0).ToList();
            whiteouts = plan.Whiteouts;
            if (treeChunks.Count == 0 && whiteouts.Count > 0)
            {
                treeChunks.Add([]);
            }

            Log.Deduplicated(logger, baseImage!.Reference, plan.DeduplicatedFiles, plan.DeduplicatedBytes / 1e6, plan.DeduplicatedBytes, plan.DeduplicatedDirectories, plan.Changed.Count, whiteouts.Count);
        }

        // Jobs in layer order; run largest first so both cores stay busy to the end.
        var jobs = new List<LayerJob>();
        for (var c = 0; c < treeChunks.Count; c++)
        {
            var chunk = treeChunks[c];

            // Whiteouts go first in the first tree layer: they must hide only the base, never our own entries.
            var deletions = c == 0 ? whiteouts : [];
            jobs.Add(new LayerJob(LayerKind.Tree, $"tree chunk {c + 1}/{treeChunks.Count}", chunk.Sum(e => e.Size), options.Compression, -1,
                writer => WriteTreeLayer(writer, repo, tree, chunk, deletions, cancellationToken)));
        }

        for (var c = 0; c < chunkCount; c++)
        {
            var objects = repoChunks[c];
            jobs.Add(new LayerJob(LayerKind.Repo, $"repo chunk {c + 1}/{chunkCount}", repoWeights[c] / 4, options.Compression, PrecompressedLevel(options.Compression),
                writer => WriteRepoLayer(writer, repo, objects, cancellationToken)));
        }

        foreach (var delta in deltas)
        {
            var directory = Path.Combine(repo.Path, delta.Name.RelativeDirectory);
            jobs.Add(new LayerJob(LayerKind.Delta, $"static delta {delta.Name}", DirectorySize(directory), options.Compression, PrecompressedLevel(options.Compression),
                writer => WriteDeltaLayer(writer, repo, delta.Name)));
        }

        jobs.Add(new LayerJob(LayerKind.Meta, "repo metadata, object map, webserver", long.MaxValue, options.Compression, -1,
            writer => WriteMetaLayer(writer, repo, checksum, refName, commit, commitBytes, commitMeta, tree, deltas, options.WebserverExecutable, cancellationToken)));

        var results = new BuiltLayer?[jobs.Count];
        try
        {
            Parallel.ForEach(
                Enumerable.Range(0, jobs.Count).OrderByDescending(i => jobs[i].Weight),
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism), CancellationToken = cancellationToken },
                i =>
                {
                    results[i] = WriteLayer(layout, jobs[i]);
                    Log.LayerWritten(logger, jobs[i].Description, results[i]!.Descriptor.Size / 1e6, results[i]!.Entries, results[i]!.Descriptor.Digest);
                });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            // Report the first failure as itself (one clear line), not as "one or more errors".
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }

        var layers = results.Select(r => r!).ToList();

        var labels = ImageLabels.For(checksum, commit, refName, tree, options.Labels);
        labels[ImageLabels.RepoLayers] = string.Join(",", layers.Select((l, i) => (l, i)).Where(x => x.l.Kind != LayerKind.Tree).Select(x => baseLayers + x.i));
        var baseConfig = baseImage?.Config.Config;
        if (baseConfig?.Labels is { } inherited)
        {
            labels = ImageLabels.MergeUnder(inherited, labels);
        }

        var exposedPorts = new SortedDictionary<string, EmptyObject>(StringComparer.Ordinal) { [ExposedPort] = new EmptyObject() };
        foreach (var port in baseConfig?.ExposedPorts?.Keys ?? Enumerable.Empty<string>())
        {
            exposedPorts.TryAdd(port, new EmptyObject());
        }

        IReadOnlyList<string> env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];
        if (baseConfig?.Env is { Count: > 0 } baseEnv)
        {
            env = baseEnv.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)) ? baseEnv : [.. env, .. baseEnv];
        }

        var config = new ImageConfig
        {
            Created = ImageLabels.FormatTime(commit.Time),
            Architecture = options.Platform.Architecture,
            Os = options.Platform.Os,
            Variant = options.Platform.Variant,
            Config = new ContainerConfig
            {
                // The base's runtime defaults carry over; Cmd does not (it would become
                // arguments of our entrypoint).
                User = baseConfig?.User,
                Entrypoint = ["/" + WebserverPath],
                ExposedPorts = exposedPorts,
                Env = env,
                Volumes = baseConfig?.Volumes,
                WorkingDir = baseConfig?.WorkingDir,
                Labels = labels,
                StopSignal = baseConfig?.StopSignal,
            },
            RootFs = new RootFs { DiffIds = [.. baseImage?.Config.RootFs.DiffIds ?? [], .. layers.Select(l => l.DiffId)] },
            History =
            [
                .. baseImage?.Config.History ?? [],
                .. jobs.Select(j => new HistoryEntry
                {
                    Created = ImageLabels.FormatTime(commit.Time),
                    CreatedBy = $"ostree-container build: {j.Description}",
                    Comment = $"ostree commit {checksum}",
                }),
            ],
        };
        var configDescriptor = layout.WriteBlob(OciJson.Serialize(config), MediaTypes.OciConfig);
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = configDescriptor,
            Layers = [.. baseImage?.Layers.Select(BaseLayerDescriptor) ?? [], .. layers.Select(l => l.Descriptor)],
            Annotations = new SortedDictionary<string, string>(labels.Where(l => l.Key != ImageLabels.RepoLayers).ToDictionary(), StringComparer.Ordinal),
        };
        var manifestBytes = OciJson.Serialize(manifest);
        var manifestDescriptor = layout.WriteBlob(manifestBytes, MediaTypes.OciManifest);
        if (baseImage is null)
        {
            Log.ManifestWritten(logger, manifestDescriptor.Digest, layers.Count, layers.Sum(l => l.Descriptor.Size) / 1e6);
        }
        else
        {
            Log.DerivedManifestWritten(logger, manifestDescriptor.Digest, layers.Count, layers.Sum(l => l.Descriptor.Size) / 1e6, baseLayers);
        }

        return new ImageBuildResult(
            manifestDescriptor, manifestBytes, configDescriptor, layers, checksum, refName, labels, baseImage, plan?.DeduplicatedFiles ?? 0, plan?.DeduplicatedBytes ?? 0, whiteouts.Count);
    }

    // A base layer keeps its bytes and digest; a Docker media type becomes its OCI twin
    // (same gzip tar), as skopeo does when it copies a Docker image to OCI.
    private static Descriptor BaseLayerDescriptor(Descriptor layer) =>
        layer.MediaType == MediaTypes.DockerLayerGzip ? layer with { MediaType = MediaTypes.OciLayerGzip } : layer;

    private static BuiltLayer WriteLayer(ImageLayout layout, LayerJob job)
    {
        using var staged = layout.BeginBlob();
        LayerResult result;
        using (var writer = new LayerWriter(staged.Stream, job.Compression, EntryTime, job.Level))
        {
            job.Write(writer);
            result = writer.Complete();
        }

        var descriptor = staged.Commit(result.MediaType, result.Digest) with
        {
            Annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                [ImageLabels.LayerKindAnnotation] = job.Kind.ToString().ToLowerInvariant(),
            },
        };
        return new BuiltLayer(job.Kind, descriptor, result.DiffId, result.Entries, result.UncompressedSize);
    }

    private static void WriteTreeLayer(
        LayerWriter writer, OstreeRepo repo, CommitTree tree, List<TreeEntry> entries, IReadOnlyList<string> whiteouts, CancellationToken cancellationToken)
    {
        var directories = new LayerDirectories(writer, path => tree.Directories.TryGetValue(path, out var d) ? Metadata(d) : RootDirectory);
        foreach (var path in whiteouts)
        {
            directories.EnsureParents(path);
            writer.AddWhiteout(path);
        }

        var firstPath = new Dictionary<Checksum, string>();
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            directories.EnsureParents(entry.Path);
            var metadata = Metadata(entry);
            switch (entry.Kind)
            {
                case TreeEntryKind.Directory:
                    directories.Add(entry.Path, metadata);
                    break;
                case TreeEntryKind.Symlink:
                    writer.AddSymlink(entry.Path, entry.SymlinkTarget, metadata);
                    break;
                default:
                    // The same checksum means the same content, owner, mode and xattrs: a hardlink
                    // extracts to an identical file.
                    if (firstPath.TryGetValue(entry.Object, out var first))
                    {
                        writer.AddHardlink(entry.Path, first, metadata);
                        break;
                    }

                    firstPath.Add(entry.Object, entry.Path);
                    using (var content = new VerifiedContentStream(repo.OpenContent(entry.Object)))
                    {
                        writer.AddFile(entry.Path, metadata, entry.Size, content);
                    }

                    break;
            }
        }
    }

    private static void WriteRepoLayer(LayerWriter writer, OstreeRepo repo, List<Checksum> objects, CancellationToken cancellationToken)
    {
        var directories = new LayerDirectories(writer, _ => RootDirectory);
        foreach (var checksum in objects)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = $"{RepoDirectory}/{ObjectRelativePath(checksum, "filez")}";
            directories.EnsureParents(path);
            if (repo.IsArchive)
            {
                // Already in the form the image's archive-z2 repo needs; the tree layer of the
                // same chunk inflates and verifies this very file.
                using var file = new FileStream(repo.ObjectPath(checksum, ObjectType.File), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                writer.AddFile(path, RootFile, file.Length, file);
            }
            else
            {
                using var buffer = new MemoryStream();
                ArchiveContent.WriteVerified(repo.OpenContent(checksum), buffer, CompressionLevel.Optimal);
                writer.AddFile(path, RootFile, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
            }
        }
    }

    private static void WriteDeltaLayer(LayerWriter writer, OstreeRepo repo, DeltaName name)
    {
        var directories = new LayerDirectories(writer, _ => RootDirectory);
        var source = Path.Combine(repo.Path, name.RelativeDirectory);
        foreach (var file in Directory.EnumerateFiles(source).Order(StringComparer.Ordinal))
        {
            var path = $"{RepoDirectory}/{name.RelativeDirectory}/{Path.GetFileName(file)}";
            directories.EnsureParents(path);
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            writer.AddFile(path, RootFile, stream.Length, stream);
        }
    }

    private static void WriteMetaLayer(
        LayerWriter writer,
        OstreeRepo repo,
        Checksum checksum,
        string? refName,
        Commit commit,
        byte[] commitBytes,
        byte[]? commitMeta,
        CommitTree tree,
        IReadOnlyList<StaticDelta> deltas,
        string webserver,
        CancellationToken cancellationToken)
    {
        var directories = new LayerDirectories(writer, _ => RootDirectory);

        // The skeleton `ostree init` makes, so the extracted repo opens and fscks as is.
        foreach (var directory in new[] { "extensions", "objects", "refs/heads", "refs/mirrors", "refs/remotes", "state", "tmp" })
        {
            directories.EnsureParents($"{RepoDirectory}/{directory}/x");
        }

        AddRepoFile(writer, directories, "config", Encoding.UTF8.GetBytes("[core]\nrepo_version=1\nmode=archive-z2\n"));

        // Objects in name order: the layer's bytes must not depend on walk order.
        var metadata = new SortedDictionary<string, byte[]>(StringComparer.Ordinal)
        {
            [ObjectRelativePath(checksum, "commit")] = commitBytes,
        };
        if (commitMeta is not null)
        {
            metadata[ObjectRelativePath(checksum, "commitmeta")] = commitMeta;
        }

        foreach (var dirTree in tree.DirTrees)
        {
            metadata[ObjectRelativePath(dirTree, "dirtree")] = ReadVerified(repo, dirTree, ObjectType.DirTree);
        }

        foreach (var dirMeta in tree.DirMetas)
        {
            metadata[ObjectRelativePath(dirMeta, "dirmeta")] = ReadVerified(repo, dirMeta, ObjectType.DirMeta);
        }

        foreach (var (path, bytes) in metadata)
        {
            AddRepoFile(writer, directories, path, bytes);
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (refName is not null)
        {
            AddRepoFile(writer, directories, $"refs/heads/{refName}", Encoding.ASCII.GetBytes(checksum + "\n"));
        }

        foreach (var (path, index) in DeltaIndex.CreateAll(deltas).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            AddRepoFile(writer, directories, path, index.Serialize());
        }

        // The summary's last-modified is the commit time, never the clock.
        var summary = new SummaryBuilder("archive-z2") { LastModified = commit.Time };
        if (refName is not null)
        {
            summary.AddRef(refName, checksum, commitBytes);
        }

        summary.AddDeltas(deltas);
        AddRepoFile(writer, directories, "summary", summary.Build().Serialize());

        var mapFile = Path.Combine(Path.GetTempPath(), $"ostree-container-map-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            ObjectMapBuilder.Build(repo, [checksum.ToString()], mapFile, cancellationToken);
            using var map = File.OpenRead(mapFile);
            directories.EnsureParents(ObjectMapPath);
            writer.AddFile(ObjectMapPath, RootFile, map.Length, map);
        }
        finally
        {
            File.Delete(mapFile);
        }

        using (var server = File.OpenRead(webserver))
        {
            writer.AddFile(WebserverPath, RootExecutable, server.Length, server);
        }

        // Native libraries published beside the server (SQLite's libe_sqlite3.so) go beside it
        // in the image too; it finds them there without configuration.
        foreach (var library in Directory.EnumerateFiles(Path.GetDirectoryName(Path.GetFullPath(webserver))!, "*.so").Order(StringComparer.Ordinal))
        {
            using var stream = File.OpenRead(library);
            writer.AddFile($"ostree/{Path.GetFileName(library)}", RootFile, stream.Length, stream);
        }
    }

    private static void AddRepoFile(LayerWriter writer, LayerDirectories directories, string relative, byte[] bytes)
    {
        var path = $"{RepoDirectory}/{relative}";
        directories.EnsureParents(path);
        writer.AddFile(path, RootFile, bytes);
    }

    private static byte[] ReadVerified(OstreeRepo repo, Checksum checksum, ObjectType type)
    {
        var bytes = repo.ReadMetadataBytes(checksum, type);
        var actual = Checksum.Compute(bytes);
        return actual == checksum
            ? bytes
            : throw new InvalidDataException($"{type.ToString().ToLowerInvariant()} {checksum} is corrupt: it hashes to {actual}");
    }

    private static string ObjectRelativePath(Checksum checksum, string extension)
    {
        var hex = checksum.ToString();
        return $"objects/{hex[..2]}/{hex[2..]}.{extension}";
    }

    private static TarEntryMetadata Metadata(TreeEntry entry) =>
        new((int)entry.Mode, (int)entry.Uid, (int)entry.Gid, entry.Xattrs.Count == 0 ? null : entry.Xattrs.Select(x => KeyValuePair.Create(x.Name, x.Value)).ToList());

    private static long DirectorySize(string directory) =>
        Directory.EnumerateFiles(directory).Sum(f => new FileInfo(f).Length);

    private sealed record LayerJob(LayerKind Kind, string Description, long Weight, LayerCompression Compression, int Level, Action<LayerWriter> Write);

    /// <summary>Writes each parent directory once per layer, before the first entry beneath it.</summary>
    private sealed class LayerDirectories(LayerWriter writer, Func<string, TarEntryMetadata> metadataFor)
    {
        private readonly HashSet<string> _written = new(StringComparer.Ordinal);

        public void EnsureParents(string path)
        {
            var parent = CommitTree.Parent(path);
            if (parent.Length == 0 || _written.Contains(parent))
            {
                return;
            }

            EnsureParents(parent);
            Add(parent, metadataFor(parent));
        }

        public void Add(string path, TarEntryMetadata metadata)
        {
            if (_written.Add(path))
            {
                writer.AddDirectory(path, metadata);
            }
        }
    }
}
