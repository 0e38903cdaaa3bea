using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Trees;

/// <summary>What a path names in a <see cref="MutableTree"/>.</summary>
public enum MutableTreeEntryKind
{
    /// <summary>Nothing (or a parent is missing or not a directory).</summary>
    None,

    /// <summary>A content object: a regular file or a symlink.</summary>
    File,

    /// <summary>A directory.</summary>
    Directory,
}

/// <summary>
/// A directory tree being edited in memory on top of a commit's tree (or an empty one):
/// directories of the starting tree are read from the repository only when an edit reaches
/// them, files are content checksums, and <see cref="Write"/> writes only the dirtrees and
/// dirmetas that changed. Paths are relative, '/'-separated, already normalised (no '.',
/// '..' or empty components); the empty path is the root.
/// </summary>
/// <remarks>
/// A directory that no edit reached keeps the dirtree and dirmeta checksums it was read
/// with and is never loaded or rewritten; an edit marks the directories on its path dirty,
/// and <see cref="Write"/> rewrites exactly those, bottom-up, each dirtree sorted byte-wise
/// (<see cref="DirTree.Create"/>). After <see cref="Write"/> every directory is clean again,
/// so the tree can be edited further and written again (one write per layer). The tree is
/// never traversed through a file or symlink: a path whose parent is not a directory is an
/// error, not a lookup through the link. Not thread-safe.
/// </remarks>
public sealed class MutableTree
{
    private readonly OstreeRepo? _repo;
    private readonly DirNode _root;

    private MutableTree(OstreeRepo? repo, DirNode root)
    {
        _repo = repo;
        _root = root;
    }

    /// <summary>An empty tree whose root has <paramref name="rootMeta"/>.</summary>
    public static MutableTree Empty(DirMeta rootMeta)
    {
        ArgumentNullException.ThrowIfNull(rootMeta);
        return new MutableTree(null, DirNode.New(rootMeta));
    }

    /// <summary>The tree of <paramref name="commit"/> in <paramref name="repo"/>, read lazily.</summary>
    /// <exception cref="InvalidDataException">The commit or a dirtree it names is missing or malformed (when reached).</exception>
    public static MutableTree FromCommit(OstreeRepo repo, Checksum commit)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var c = Read(() => repo.ReadCommit(commit), $"commit {commit}");
        return new MutableTree(repo, DirNode.Stored(c.RootTree, c.RootMeta));
    }

    /// <summary>What <paramref name="path"/> names; <see cref="MutableTreeEntryKind.None"/> when a parent is missing or not a directory.</summary>
    public MutableTreeEntryKind Lookup(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            return MutableTreeEntryKind.Directory;
        }

        var parent = FindParent(path, out var name);
        if (parent is null)
        {
            return MutableTreeEntryKind.None;
        }

        Load(parent);
        return parent.Files!.ContainsKey(name) ? MutableTreeEntryKind.File
            : parent.Dirs!.ContainsKey(name) ? MutableTreeEntryKind.Directory
            : MutableTreeEntryKind.None;
    }

    /// <summary>
    /// The first proper parent of <paramref name="path"/> that is a file or symlink (so an
    /// edit of the path would have to go through it), or null when every existing parent is
    /// a directory. One walk from the root.
    /// </summary>
    public string? FindFileAncestor(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var slash = path.LastIndexOf('/');
        if (slash < 0)
        {
            return null;
        }

        var dir = _root;
        foreach (var range in path.AsSpan(0, slash).Split('/'))
        {
            Load(dir);
            var component = path[range];
            if (dir.Dirs!.TryGetValue(component, out var child))
            {
                dir = child;
                continue;
            }

            return dir.Files!.ContainsKey(component) ? path[..range.End.Value] : null;
        }

        return null;
    }

    /// <summary>The content checksum of the file (regular or symlink) at <paramref name="path"/>, or null.</summary>
    public Checksum? FindFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            return null;
        }

        var parent = FindParent(path, out var name);
        if (parent is null)
        {
            return null;
        }

        Load(parent);
        return parent.Files!.TryGetValue(name, out var checksum) ? checksum : null;
    }

    /// <summary>The metadata of the directory at <paramref name="path"/>, or null when it is not a directory.</summary>
    public DirMeta? FindDirectoryMeta(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var dir = FindDirectory(path);
        return dir is null ? null : Meta(dir);
    }

    /// <summary>The names in the directory at <paramref name="path"/> (files and directories, byte-wise order), or null when it is not a directory.</summary>
    public IReadOnlyList<string>? ListNames(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var dir = FindDirectory(path);
        if (dir is null)
        {
            return null;
        }

        Load(dir);
        var names = new List<string>(dir.Files!.Count + dir.Dirs!.Count);
        names.AddRange(dir.Files.Keys);
        names.AddRange(dir.Dirs.Keys);
        names.Sort(NameOrder.Instance);
        return names;
    }

    /// <summary>
    /// Makes <paramref name="path"/> a directory with <paramref name="meta"/>: an existing
    /// directory gets the new metadata and keeps its children; a file there is replaced by an
    /// empty directory. The empty path sets the root's metadata.
    /// </summary>
    /// <param name="path">The directory.</param>
    /// <param name="meta">Its owner, mode (<c>S_IFDIR</c> included) and xattrs.</param>
    /// <param name="implicitParents">Metadata for missing parent directories, created on the way; null: a missing parent is an error.</param>
    /// <exception cref="InvalidDataException">A parent is missing (without <paramref name="implicitParents"/>) or not a directory, or a name is not valid in a dirtree.</exception>
    public void SetDirectory(string path, DirMeta meta, DirMeta? implicitParents = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(meta);
        if (!StatMode.HasOnly(meta.Mode, StatMode.Directory))
        {
            throw new ArgumentException($"mode 0{Convert.ToString(meta.Mode, 8)} is not a directory mode", nameof(meta));
        }

        if (path.Length == 0)
        {
            _root.SetMeta(meta);
            return;
        }

        var parent = WalkToParent(path, implicitParents, out var name);
        if (parent.Dirs!.TryGetValue(name, out var existing))
        {
            existing.SetMeta(meta);
        }
        else
        {
            parent.Files!.Remove(name);
            parent.Dirs.Add(DirTree.ValidName(name, path), DirNode.New(meta));
        }
    }

    /// <summary>
    /// Makes <paramref name="path"/> the content object <paramref name="content"/> (a regular
    /// file or symlink written into the repository or transaction): a file there is replaced,
    /// and so is a directory with everything below it.
    /// </summary>
    /// <param name="path">The file; not the root.</param>
    /// <param name="content">The content object's checksum.</param>
    /// <param name="implicitParents">Metadata for missing parent directories, created on the way; null: a missing parent is an error.</param>
    /// <exception cref="InvalidDataException">A parent is missing (without <paramref name="implicitParents"/>) or not a directory, or the name is not valid in a dirtree.</exception>
    public void SetFile(string path, Checksum content, DirMeta? implicitParents = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            throw new ArgumentException("the root of a tree is a directory, not a file", nameof(path));
        }

        var parent = WalkToParent(path, implicitParents, out var name);
        parent.Dirs!.Remove(name);
        parent.Files![DirTree.ValidName(name, path)] = content;
    }

    /// <summary>Removes the file or directory (with everything below it) at <paramref name="path"/>; false when there was none.</summary>
    /// <exception cref="ArgumentException">The path is the root.</exception>
    public bool Remove(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            throw new ArgumentException("the root of a tree cannot be removed", nameof(path));
        }

        var parent = FindParent(path, out var name);
        if (parent is null)
        {
            return false;
        }

        Load(parent);
        if (!parent.Files!.ContainsKey(name) && !parent.Dirs!.ContainsKey(name))
        {
            return false;
        }

        // Found: mark the path dirty (the walk above did not), then remove.
        parent = WalkToParent(path, null, out name);
        return parent.Files!.Remove(name) | parent.Dirs!.Remove(name);
    }

    /// <summary>
    /// Removes every child of the directory at <paramref name="path"/> for which
    /// <paramref name="keep"/> (given the child's name) returns false; returns how many were
    /// removed. Nothing happens when the path is not a directory.
    /// </summary>
    public int ClearDirectory(string path, Func<string, bool> keep)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(keep);
        var dir = FindDirectory(path);
        if (dir is null)
        {
            return 0;
        }

        Load(dir);
        var doomed = dir.Files!.Keys.Concat(dir.Dirs!.Keys).Where(n => !keep(n)).ToList();
        if (doomed.Count == 0)
        {
            return 0;
        }

        MarkPathDirty(path);
        foreach (var name in doomed)
        {
            if (!dir.Files.Remove(name))
            {
                dir.Dirs.Remove(name);
            }
        }

        return doomed.Count;
    }

    /// <summary>Writes every changed dirtree and dirmeta into <paramref name="transaction"/>; returns the root's.</summary>
    /// <exception cref="InvalidDataException">A dirtree or dirmeta of the starting commit that had to be read is missing or malformed.</exception>
    public (Checksum Tree, Checksum Meta) Write(RepoTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return WriteDirectory(transaction, _root);
    }

    private static (Checksum Tree, Checksum Meta) WriteDirectory(RepoTransaction transaction, DirNode dir)
    {
        if (dir.MetaChecksum is not { } meta)
        {
            meta = transaction.WriteMetadata(ObjectType.DirMeta, dir.Meta!.Serialize());
            dir.MetaChecksum = meta;
        }

        if (dir.Tree is not { } tree)
        {
            // A dirty directory has been loaded (every edit loads the directories it walks).
            var dirs = new List<DirTreeDirectory>(dir.Dirs!.Count);
            foreach (var (name, child) in dir.Dirs)
            {
                var (childTree, childMeta) = WriteDirectory(transaction, child);
                dirs.Add(new DirTreeDirectory(name, childTree, childMeta));
            }

            var files = dir.Files!.Select(f => new DirTreeFile(f.Key, f.Value));
            tree = transaction.WriteMetadata(ObjectType.DirTree, DirTree.Create(files, dirs).Serialize());
            dir.Tree = tree;
        }

        return (tree, meta);
    }

    // The directory holding the last component, or null when a parent is missing or a file;
    // reads (and caches) directories but marks nothing dirty.
    private DirNode? FindParent(string path, out string name)
    {
        var slash = path.LastIndexOf('/');
        name = path[(slash + 1)..];
        return slash < 0 ? _root : FindDirectory(path[..slash]);
    }

    private DirNode? FindDirectory(string path)
    {
        var dir = _root;
        if (path.Length == 0)
        {
            return dir;
        }

        foreach (var range in path.AsSpan().Split('/'))
        {
            Load(dir);
            if (!dir.Dirs!.TryGetValue(path[range], out var child))
            {
                return null;
            }

            dir = child;
        }

        return dir;
    }

    // Walks to the parent of the last component, creating missing directories with
    // implicitParents, and marks every directory on the way dirty (the edit that follows
    // changes each of their dirtrees).
    private DirNode WalkToParent(string path, DirMeta? implicitParents, out string name)
    {
        var dir = _root;
        dir.Tree = null;
        Load(dir);
        var slash = path.LastIndexOf('/');
        name = path[(slash + 1)..];
        if (slash < 0)
        {
            return dir;
        }

        foreach (var range in path.AsSpan(0, slash).Split('/'))
        {
            var component = path[range];
            if (!dir.Dirs!.TryGetValue(component, out var child))
            {
                var prefix = path[..range.End.Value];
                if (dir.Files!.ContainsKey(component))
                {
                    throw new InvalidDataException($"'{prefix}' is a file or symlink, not a directory (a tree is never traversed through a link)");
                }

                if (implicitParents is null)
                {
                    throw new InvalidDataException($"'{prefix}' does not exist");
                }

                child = DirNode.New(implicitParents);
                dir.Dirs.Add(DirTree.ValidName(component, prefix), child);
            }

            dir = child;
            dir.Tree = null;
            Load(dir);
        }

        return dir;
    }

    private void MarkPathDirty(string path)
    {
        var dir = _root;
        dir.Tree = null;
        if (path.Length == 0)
        {
            return;
        }

        foreach (var range in path.AsSpan().Split('/'))
        {
            dir = dir.Dirs![path[range]];
            dir.Tree = null;
        }
    }

    private void Load(DirNode dir)
    {
        if (dir.Files is not null)
        {
            return;
        }

        // Only directories of the starting commit are unloaded, and those exist only with a repo.
        var stored = dir.StoredTree!.Value;
        var tree = Read(() => _repo!.ReadDirTree(stored), $"dirtree {stored}");
        dir.Files = new Dictionary<string, Checksum>(tree.Files.Count, StringComparer.Ordinal);
        foreach (var f in tree.Files)
        {
            dir.Files.Add(f.Name, f.Checksum);
        }

        dir.Dirs = new Dictionary<string, DirNode>(tree.Directories.Count, StringComparer.Ordinal);
        foreach (var d in tree.Directories)
        {
            dir.Dirs.Add(d.Name, DirNode.Stored(d.TreeChecksum, d.MetaChecksum));
        }
    }

    private DirMeta Meta(DirNode dir)
    {
        if (dir.Meta is null)
        {
            var checksum = dir.MetaChecksum!.Value;
            dir.Meta = Read(() => _repo!.ReadDirMeta(checksum), $"dirmeta {checksum}");
        }

        return dir.Meta;
    }

    private static T Read<T>(Func<T> read, string what)
    {
        try
        {
            return read();
        }
        catch (FileNotFoundException)
        {
            throw new InvalidDataException($"{what} is missing from the repository");
        }
    }

    private sealed class DirNode
    {
        // The dirtree checksum while the directory is clean (as read, or as last written);
        // null once an edit below it changed its entries.
        public Checksum? Tree { get; set; }

        // The dirtree this node was read from; never cleared, so a dirty node can still load.
        public Checksum? StoredTree { get; private init; }

        // The dirmeta checksum while it is known; null after SetMeta until the next Write.
        public Checksum? MetaChecksum { get; set; }

        public DirMeta? Meta { get; set; }

        // Null until loaded from StoredTree.
        public Dictionary<string, Checksum>? Files { get; set; }

        public Dictionary<string, DirNode>? Dirs { get; set; }

        public static DirNode New(DirMeta meta) => new()
        {
            Meta = meta,
            Files = new(StringComparer.Ordinal),
            Dirs = new(StringComparer.Ordinal),
        };

        public static DirNode Stored(Checksum tree, Checksum meta) => new() { Tree = tree, StoredTree = tree, MetaChecksum = meta };

        public void SetMeta(DirMeta meta)
        {
            Meta = meta;
            MetaChecksum = null;
        }
    }
}
