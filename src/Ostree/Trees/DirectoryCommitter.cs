using System.Buffers;
using System.Collections.Concurrent;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Posix;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Trees;

/// <summary>Options of <see cref="DirectoryCommitter"/>, named after <c>ostree commit</c>'s flags.</summary>
public sealed record CommitOptions
{
    /// <summary><c>--branch</c>: the ref to move to the new commit (and bind it to).</summary>
    public string? Branch { get; init; }

    /// <summary><c>--subject</c>.</summary>
    public string Subject { get; init; } = "";

    /// <summary><c>--body</c>.</summary>
    public string Body { get; init; } = "";

    /// <summary><c>--timestamp</c> as Unix seconds; null means <c>SOURCE_DATE_EPOCH</c> or now.</summary>
    public ulong? Timestamp { get; init; }

    /// <summary><c>--parent</c>; null means the branch's current commit, if any.</summary>
    public Checksum? Parent { get; init; }

    /// <summary><c>--orphan</c>: no parent even if the branch exists.</summary>
    public bool Orphan { get; init; }

    /// <summary><c>--owner-uid</c>: store this uid for every file and directory.</summary>
    public uint? OwnerUid { get; init; }

    /// <summary><c>--owner-gid</c>.</summary>
    public uint? OwnerGid { get; init; }

    /// <summary><c>--no-xattrs</c>.</summary>
    public bool NoXattrs { get; init; }

    /// <summary><c>--no-bindings</c>: do not add <c>ostree.ref-binding</c>.</summary>
    public bool NoBindings { get; init; }

    /// <summary><c>--add-metadata-string</c> and <c>--add-metadata</c>, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, Variant>> Metadata { get; init; } = [];

    /// <summary><c>--add-detached-metadata-string</c>, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, Variant>> DetachedMetadata { get; init; } = [];

    /// <summary>Threads hashing and compressing file content (default: every core).</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;
}

/// <summary>What a commit wrote.</summary>
public sealed record CommitResult(Checksum Commit, int Files, int Directories, long ContentBytes, int ObjectsWritten);

/// <summary>
/// Commits a directory tree, producing the same checksum <c>ostree commit --tree=dir=…</c>
/// produces for the same input and options. Files are hashed and compressed on every
/// core; directories are then assembled bottom-up, each dirtree sorted byte-wise.
/// </summary>
public static class DirectoryCommitter
{
    /// <summary>Commits <paramref name="directory"/> into <paramref name="repo"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The tree does not exist.</exception>
    /// <exception cref="InvalidDataException">The tree holds something OSTree cannot store (device, fifo, socket, non-UTF-8 name).</exception>
    public static CommitResult Commit(OstreeRepo repo, string directory, CommitOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(options);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{directory}: no such directory");
        }

        RefName? branch = options.Branch is null ? null : RefName.Parse(options.Branch);
        var parent = options.Orphan ? null : options.Parent ?? (branch is { } b && repo.TryResolveRev(b.ToString(), out var current) ? current : null);

        using var transaction = repo.BeginTransaction();
        var walker = new Walker(options);
        var root = walker.Scan(Path.GetFullPath(directory));
        HashFiles(transaction, walker.Files, options, cancellationToken);
        var (tree, meta) = WriteTree(transaction, root);

        var metadata = new VariantDictionary(options.Metadata);
        if (branch is { } bound && !options.NoBindings && metadata[Objects.Commit.RefBindingKey] is null)
        {
            metadata.Set(Objects.Commit.RefBindingKey, Variant.FromStrings([bound.Name]));
        }

        var commit = new Commit(metadata, parent, [], options.Subject, options.Body, options.Timestamp ?? DefaultTimestamp(), tree, meta);
        var checksum = transaction.WriteMetadata(ObjectType.Commit, commit.Serialize());
        if (options.DetachedMetadata.Count > 0)
        {
            transaction.WriteCommitMeta(checksum, new VariantDictionary(options.DetachedMetadata));
        }

        if (branch is { } target)
        {
            transaction.SetRef(target, checksum);
        }

        var written = transaction.StagedCount;
        transaction.Commit();
        return new CommitResult(checksum, walker.Files.Count, walker.DirectoryCount, walker.ContentBytes, written);
    }

    /// <summary><c>SOURCE_DATE_EPOCH</c> when set (reproducible builds), else the current time.</summary>
    private static ulong DefaultTimestamp() =>
        ulong.TryParse(Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"), out var epoch)
            ? epoch
            : (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static void HashFiles(RepoTransaction transaction, List<FileEntry> files, CommitOptions options, CancellationToken cancellationToken)
    {
        // Largest files first, so the last worker does not start a huge file alone.
        var order = files.OrderByDescending(f => f.Size).ToArray();
        var errors = new ConcurrentQueue<Exception>();
        Parallel.ForEach(
            Partitioner.Create(order, EnumerablePartitionerOptions.NoBuffering),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism), CancellationToken = cancellationToken },
            (file, state) =>
            {
                try
                {
                    file.Checksum = WriteFile(transaction, file);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
                {
                    errors.Enqueue(e);
                    state.Stop();
                }
            });
        if (errors.TryDequeue(out var first))
        {
            throw first is InvalidDataException ide ? ide : new IOException(first.Message, first);
        }
    }

    private static Checksum WriteFile(RepoTransaction transaction, FileEntry file)
    {
        if (file.Header.IsSymlink)
        {
            return transaction.WriteContent(file.Header, ReadOnlySpan<byte>.Empty);
        }

        using var handle = File.OpenHandle(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        if (file.Size > 8 << 20)
        {
            using var stream = new FileStream(handle, FileAccess.Read, 0);
            return transaction.WriteContent(file.Header, stream, file.Size);
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(1, file.Size));
        try
        {
            var read = 0;
            while (read < file.Size)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(read, (int)file.Size - read), read);
                if (n == 0)
                {
                    throw new IOException($"{file.Path}: file shrank while being committed");
                }

                read += n;
            }

            return transaction.WriteContent(file.Header, buffer.AsSpan(0, read));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static (Checksum Tree, Checksum Meta) WriteTree(RepoTransaction transaction, DirEntry dir)
    {
        var dirs = new List<DirTreeDirectory>(dir.Directories.Count);
        foreach (var child in dir.Directories)
        {
            var (tree, meta) = WriteTree(transaction, child);
            dirs.Add(new DirTreeDirectory(child.Name, tree, meta));
        }

        var files = dir.Files.Select(f => new DirTreeFile(f.Name, f.Checksum)).ToList();
        var dirtree = DirTree.Create(files, dirs);
        var treeChecksum = transaction.WriteMetadata(ObjectType.DirTree, dirtree.Serialize());
        var metaChecksum = transaction.WriteMetadata(ObjectType.DirMeta, dir.Meta.Serialize());
        return (treeChecksum, metaChecksum);
    }

    private sealed class FileEntry(string path, string name, FileHeader header, long size)
    {
        public string Path { get; } = path;

        public string Name { get; } = name;

        public FileHeader Header { get; } = header;

        public long Size { get; } = size;

        public Checksum Checksum { get; set; }
    }

    private sealed class DirEntry(string name, DirMeta meta)
    {
        public string Name { get; } = name;

        public DirMeta Meta { get; } = meta;

        public List<DirEntry> Directories { get; } = [];

        public List<FileEntry> Files { get; } = [];
    }

    /// <summary>Walks the tree once, collecting metadata; content is read later, in parallel.</summary>
    private sealed class Walker(CommitOptions options)
    {
        public List<FileEntry> Files { get; } = [];

        public int DirectoryCount { get; private set; }

        public long ContentBytes { get; private set; }

        public DirEntry Scan(string root) => ScanDirectory(root, "", UnixStat.LStat(root));

        private DirEntry ScanDirectory(string path, string name, UnixStat stat)
        {
            DirectoryCount++;
            var dir = new DirEntry(name, new DirMeta(Uid(stat), Gid(stat), stat.Mode, Xattrs(path)));
            foreach (var childPath in Directory.EnumerateFileSystemEntries(path))
            {
                var childName = System.IO.Path.GetFileName(childPath);
                if (childName.Contains('\uFFFD', StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"{childPath}: file name is not valid UTF-8");
                }

                var child = UnixStat.LStat(childPath);
                if (StatMode.IsDirectory(child.Mode))
                {
                    dir.Directories.Add(ScanDirectory(childPath, childName, child));
                }
                else if (StatMode.IsRegular(child.Mode))
                {
                    var header = new FileHeader(Uid(child), Gid(child), child.Mode, "", Xattrs(childPath));
                    Add(dir, new FileEntry(childPath, childName, header, child.Size));
                    ContentBytes += child.Size;
                }
                else if (StatMode.IsSymlink(child.Mode))
                {
                    var target = new FileInfo(childPath).LinkTarget ?? "";
                    var header = new FileHeader(Uid(child), Gid(child), child.Mode, target, Xattrs(childPath));
                    Add(dir, new FileEntry(childPath, childName, header, 0));
                }
                else
                {
                    throw new InvalidDataException($"{childPath}: unsupported file type (mode 0{Convert.ToString(child.Mode, 8)}); OSTree stores only regular files, symlinks and directories");
                }
            }

            return dir;
        }

        private void Add(DirEntry dir, FileEntry file)
        {
            dir.Files.Add(file);
            Files.Add(file);
        }

        private uint Uid(UnixStat stat) => options.OwnerUid ?? stat.Uid;

        private uint Gid(UnixStat stat) => options.OwnerGid ?? stat.Gid;

        private IReadOnlyList<Xattr> Xattrs(string path) => options.NoXattrs ? [] : OstreeRepo.ReadFileXattrs(path);
    }
}
