using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Deltas.Generate;

/// <summary>
/// Everything a commit reaches (ostree_repo_traverse_commit at depth 0): the commit, its
/// dirtrees and dirmetas, and its content objects with every basename each appears under.
/// </summary>
internal sealed class CommitClosure
{
    private readonly Dictionary<Checksum, DirTree> _trees = [];

    private CommitClosure(Checksum commit, byte[] commitObject)
    {
        Commit = commit;
        CommitObject = commitObject;
    }

    /// <summary>The commit walked.</summary>
    public Checksum Commit { get; }

    /// <summary>The exact bytes of its <c>.commit</c> object.</summary>
    public byte[] CommitObject { get; }

    /// <summary>Metadata objects (the commit included), each once.</summary>
    public HashSet<(ObjectType Type, Checksum Checksum)> Metadata { get; } = [];

    /// <summary>Metadata objects in the order first reached (root first, depth first).</summary>
    public List<(ObjectType Type, Checksum Checksum)> MetadataOrder { get; } = [];

    /// <summary>Content object → the basenames it appears under, in walk order.</summary>
    public Dictionary<Checksum, List<string>> Files { get; } = [];

    /// <summary>Content objects in the order first reached, as ostree's traversal iterator yields them (files of a directory before its subdirectories).</summary>
    public List<Checksum> FileOrder { get; } = [];

    /// <summary>Walks <paramref name="commit"/> in <paramref name="repo"/>.</summary>
    /// <exception cref="InvalidDataException">The commit or an object it reaches is missing or malformed.</exception>
    public static CommitClosure Walk(OstreeRepo repo, Checksum commit)
    {
        var bytes = repo.TryReadMetadataBytes(commit, ObjectType.Commit)
            ?? throw new InvalidDataException($"commit {commit} is not in the repository {repo.Root}");
        Commit parsed;
        try
        {
            parsed = Objects.Commit.Parse(bytes);
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext($"commit {commit}");
        }

        var closure = new CommitClosure(commit, bytes);
        closure.AddMetadata(ObjectType.Commit, commit);
        closure.WalkDirectory(repo, parsed.RootTree, parsed.RootMeta, "/");
        return closure;
    }

    private bool AddMetadata(ObjectType type, Checksum checksum)
    {
        if (!Metadata.Add((type, checksum)))
        {
            return false;
        }

        MetadataOrder.Add((type, checksum));
        return true;
    }

    private void WalkDirectory(OstreeRepo repo, Checksum tree, Checksum meta, string path)
    {
        if (AddMetadata(ObjectType.DirMeta, meta) && !repo.HasObject(meta, ObjectType.DirMeta))
        {
            throw new InvalidDataException($"dirmeta {meta} (of {path}) is missing from {repo.Root}");
        }

        // The same dirtree may appear under several names: its files still count once per
        // name (ostree's sizename walk visits every occurrence), so always descend.
        AddMetadata(ObjectType.DirTree, tree);
        if (!_trees.TryGetValue(tree, out var dirTree))
        {
            try
            {
                dirTree = repo.ReadDirTree(tree);
            }
            catch (FileNotFoundException)
            {
                throw new InvalidDataException($"dirtree {tree} (of {path}) is missing from {repo.Root}");
            }

            _trees.Add(tree, dirTree);
        }

        foreach (var file in dirTree.Files)
        {
            if (!Files.TryGetValue(file.Checksum, out var names))
            {
                names = new List<string>(1);
                Files.Add(file.Checksum, names);
                FileOrder.Add(file.Checksum);
            }

            names.Add(file.Name);
        }

        foreach (var dir in dirTree.Directories)
        {
            WalkDirectory(repo, dir.TreeChecksum, dir.MetaChecksum, path + dir.Name + "/");
        }
    }
}
