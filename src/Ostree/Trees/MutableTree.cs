using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Trees;

/// <summary>
/// A directory tree being edited in memory on top of a commit's tree (or an empty one):
/// directories of the starting tree are read from the repository only when an edit reaches
/// them, files are content checksums, and <see cref="Write"/> writes only the dirtrees and
/// dirmetas that changed. Paths are relative, '/'-separated, already normalised (no '.',
/// '..' or empty components); the empty path is the root.
/// </summary>
public sealed class MutableTree
{
    // FOUNDATION STUB: the layers helper implements this class; the public surface below is
    // what the puller codes against (add members as needed, keep these).
    private MutableTree()
    {
    }

    /// <summary>An empty tree whose root has <paramref name="rootMeta"/>.</summary>
    public static MutableTree Empty(DirMeta rootMeta) => throw new NotImplementedException();

    /// <summary>The tree of <paramref name="commit"/> in <paramref name="repo"/>, read lazily.</summary>
    /// <exception cref="InvalidDataException">The commit or a dirtree it names is missing or malformed (when reached).</exception>
    public static MutableTree FromCommit(OstreeRepo repo, Checksum commit) => throw new NotImplementedException();

    /// <summary>The content checksum of the file (regular or symlink) at <paramref name="path"/>, or null.</summary>
    public Checksum? FindFile(string path) => throw new NotImplementedException();

    /// <summary>Writes every changed dirtree and dirmeta into <paramref name="transaction"/>; returns the root's.</summary>
    public (Checksum Tree, Checksum Meta) Write(RepoTransaction transaction) => throw new NotImplementedException();
}
