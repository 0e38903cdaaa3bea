namespace OstreeContainer.RepoWebserver.Tests;

/// <summary>
/// A repository directory a test owns and deletes when disposed. OS-sized repos are tens
/// of thousands of files; deleting them as each test ends keeps the end-of-process
/// cleanup in <see cref="Fixtures.TempDirectory"/> short (xunit force-exits with an error
/// when <c>ProcessExit</c> handlers run for more than a few seconds).
/// </summary>
internal sealed class TempRepo : IDisposable
{
    private readonly string _parent;

    /// <summary>Reserves <c>TEMP/prefix-…/repo</c> (not created).</summary>
    public TempRepo(string prefix)
    {
        _parent = Fixtures.TempDirectory(prefix);
        Path = System.IO.Path.Combine(_parent, "repo");
    }

    /// <summary>The repository directory.</summary>
    public string Path { get; }

    public void Dispose() => Delete(_parent);

    /// <summary>Deletes a directory tree, making read-only directories writable first (bare-user objects may be).</summary>
    public static void Delete(string directory)
    {
        if (Directory.Exists(directory))
        {
            Peer.Check("rm", "-rf", directory);
        }
    }
}
