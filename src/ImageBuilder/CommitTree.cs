using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.ImageBuilder;

/// <summary>What a <see cref="TreeEntry"/> is on disk.</summary>
public enum TreeEntryKind
{
    /// <summary>A directory (metadata from a dirmeta object).</summary>
    Directory,

    /// <summary>A regular file (a content object).</summary>
    File,

    /// <summary>A symbolic link (a content object with a target).</summary>
    Symlink,
}

/// <summary>
/// One path of a commit as it appears in the image: relative, '/'-separated, already
/// mapped (<c>usr/etc</c> becomes <c>etc</c>).
/// </summary>
/// <param name="Path">Image path without a leading '/'.</param>
/// <param name="Kind">Directory, file or symlink.</param>
/// <param name="Object">The content object (files, symlinks) or the dirmeta (directories).</param>
/// <param name="Uid">Owner.</param>
/// <param name="Gid">Group.</param>
/// <param name="Mode">Permission bits including setuid, setgid and sticky (07777).</param>
/// <param name="Size">Content length (0 for directories and symlinks).</param>
/// <param name="SymlinkTarget">Target of a symlink, else empty.</param>
/// <param name="Xattrs">Extended attributes, sorted.</param>
/// <param name="Synthetic">Added for the container (<c>var/tmp</c>), not in the commit.</param>
public sealed record TreeEntry(
    string Path,
    TreeEntryKind Kind,
    Checksum Object,
    uint Uid,
    uint Gid,
    uint Mode,
    long Size,
    string SymlinkTarget,
    IReadOnlyList<Xattr> Xattrs,
    bool Synthetic = false);

/// <summary>
/// A commit's tree flattened into image paths, sorted ordinally, with the conventions an
/// OSTree-based OS needs inside a container: <c>usr/etc</c> appears as <c>etc</c>
/// (ostree keeps the default config there and merges it into <c>/etc</c> at deploy
/// time) and <c>var/tmp</c> exists with mode 1777.
/// </summary>
public sealed class CommitTree
{
    private const string UsrEtc = "usr/etc";

    private readonly Lazy<Dictionary<string, TreeEntry>> _paths;

    private CommitTree(IReadOnlyList<TreeEntry> entries, IReadOnlyDictionary<string, TreeEntry> directories, IReadOnlyList<Checksum> dirTrees)
    {
        Entries = entries;
        Directories = directories;
        DirTrees = dirTrees;
        _paths = new Lazy<Dictionary<string, TreeEntry>>(() => entries.ToDictionary(e => e.Path, StringComparer.Ordinal));
    }

    /// <summary>Every path, directories included, in ordinal order.</summary>
    public IReadOnlyList<TreeEntry> Entries { get; }

    /// <summary>The directories by path (the root is <c>""</c>).</summary>
    public IReadOnlyDictionary<string, TreeEntry> Directories { get; }

    /// <summary>Every dirtree object of the commit, without repeats, in walk order.</summary>
    public IReadOnlyList<Checksum> DirTrees { get; }

    /// <summary>Every dirmeta object of the commit, without repeats.</summary>
    public IEnumerable<Checksum> DirMetas => Entries.Where(e => e.Kind == TreeEntryKind.Directory && !e.Synthetic).Select(e => e.Object).Distinct();

    /// <summary>Total content bytes of regular files.</summary>
    public long ContentBytes => Entries.Sum(e => e.Size);

    /// <summary>Reads the tree of <paramref name="commit"/>.</summary>
    /// <exception cref="InvalidDataException">A tree object is corrupt or missing.</exception>
    public static CommitTree Read(OstreeRepo repo, Commit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(commit);

        // Files first gathered by checksum so each content header is read once, in parallel.
        var raw = new List<(string Path, Checksum Object, bool IsDirectory, DirMeta? Meta)>();
        var dirTrees = new List<Checksum>();
        Walk(repo, commit.RootTree, commit.RootMeta, string.Empty, raw, dirTrees, cancellationToken);

        var hasEtc = raw.Exists(e => e.Path == "etc");
        var headers = new System.Collections.Concurrent.ConcurrentDictionary<Checksum, (FileHeader Header, long Size)>();
        Parallel.ForEach(
            raw.Where(e => !e.IsDirectory).Select(e => e.Object).Distinct(),
            new ParallelOptions { CancellationToken = cancellationToken },
            checksum =>
            {
                try
                {
                    headers[checksum] = repo.ReadContentHeader(checksum);
                }
                catch (FileNotFoundException e)
                {
                    throw new InvalidDataException($"file object {checksum} is missing from the repository", e);
                }
            });

        var entries = new List<TreeEntry>(raw.Count + 2);
        foreach (var (path, checksum, isDirectory, meta) in raw)
        {
            var mapped = hasEtc ? path : MapPath(path);
            if (isDirectory)
            {
                entries.Add(new TreeEntry(mapped, TreeEntryKind.Directory, checksum, meta!.Uid, meta.Gid, meta.Mode & StatMode.PermissionMask, 0, string.Empty, meta.Xattrs));
                continue;
            }

            var (header, size) = headers[checksum];
            entries.Add(header.IsSymlink
                ? new TreeEntry(mapped, TreeEntryKind.Symlink, checksum, header.Uid, header.Gid, header.Mode & StatMode.PermissionMask, 0, header.SymlinkTarget, header.Xattrs)
                : new TreeEntry(mapped, TreeEntryKind.File, checksum, header.Uid, header.Gid, header.Mode & StatMode.PermissionMask, size, string.Empty, header.Xattrs));
        }

        AddVarTmp(entries);
        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        var directories = entries.Where(e => e.Kind == TreeEntryKind.Directory).ToDictionary(e => e.Path, StringComparer.Ordinal);
        return new CommitTree(entries, directories, dirTrees.Distinct().ToList());
    }

    /// <summary>True when the tree has <paramref name="path"/> (any kind).</summary>
    public bool Contains(string path) => _paths.Value.ContainsKey(path);

    /// <summary>
    /// Whether the absolute <paramref name="path"/> reaches a regular file inside the image,
    /// following symlinks in the tree the way the kernel would (at most 40 of them).
    /// </summary>
    public bool ResolvesToFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var pending = new Stack<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var resolved = new List<string>();
        for (var links = 0; pending.TryPop(out var name);)
        {
            if (name == ".")
            {
                continue;
            }

            if (name == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            resolved.Add(name);
            if (!_paths.Value.TryGetValue(string.Join('/', resolved), out var entry))
            {
                return false;
            }

            if (entry.Kind == TreeEntryKind.Symlink)
            {
                if (++links > 40)
                {
                    return false;
                }

                resolved.RemoveAt(resolved.Count - 1);
                if (entry.SymlinkTarget.StartsWith('/'))
                {
                    resolved.Clear();
                }

                foreach (var part in entry.SymlinkTarget.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse())
                {
                    pending.Push(part);
                }
            }
            else if (entry.Kind == TreeEntryKind.File)
            {
                return pending.Count == 0;
            }
        }

        return resolved.Count > 0 && _paths.Value.TryGetValue(string.Join('/', resolved), out var last) && last.Kind == TreeEntryKind.File;
    }

    /// <summary>The parent directory of an image path (<c>""</c> for top-level paths).</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? string.Empty : path[..slash];
    }

    internal static string MapPath(string path) =>
        path == UsrEtc ? "etc"
        : path.StartsWith(UsrEtc + "/", StringComparison.Ordinal) ? "etc" + path[UsrEtc.Length..]
        : path;

    // The container runtime mounts nothing on /var/tmp; tools expect it to exist and be
    // world-writable with the sticky bit, as on any Linux system.
    private static void AddVarTmp(List<TreeEntry> entries)
    {
        var root = entries.Find(e => e.Path.Length == 0)!;
        if (!entries.Exists(e => e.Path == "var"))
        {
            entries.Add(root with { Path = "var", Mode = Convert.ToUInt32("755", 8), Xattrs = [], Synthetic = true });
        }

        if (!entries.Exists(e => e.Path == "var/tmp"))
        {
            entries.Add(root with { Path = "var/tmp", Mode = Convert.ToUInt32("1777", 8), Xattrs = [], Synthetic = true });
        }
    }

    private static void Walk(
        OstreeRepo repo,
        Checksum tree,
        Checksum meta,
        string path,
        List<(string, Checksum, bool, DirMeta?)> output,
        List<Checksum> dirTrees,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        DirMeta dirMeta;
        DirTree dirTree;
        try
        {
            dirMeta = repo.ReadDirMeta(meta);
            dirTree = repo.ReadDirTree(tree);
        }
        catch (FileNotFoundException e)
        {
            throw new InvalidDataException($"directory '/{path}': {e.Message}", e);
        }

        output.Add((path, meta, true, dirMeta));
        dirTrees.Add(tree);
        foreach (var file in dirTree.Files)
        {
            output.Add((Join(path, file.Name), file.Checksum, false, null));
        }

        foreach (var directory in dirTree.Directories)
        {
            Walk(repo, directory.TreeChecksum, directory.MetaChecksum, Join(path, directory.Name), output, dirTrees, cancellationToken);
        }
    }

    private static string Join(string parent, string name) => parent.Length == 0 ? name : parent + "/" + name;
}
