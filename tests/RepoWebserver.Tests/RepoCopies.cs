namespace OstreeContainer.RepoWebserver.Tests;

/// <summary>Private copies of the fixture repos that a test may change, and derived repos shared by several tests.</summary>
internal static class RepoCopies
{
    private static readonly Lazy<TempRepo> OsBareUser = new(MakeOsBareUser);

    /// <summary>A full copy (<c>cp -a</c>: symlinks, modes and times kept) of <paramref name="repo"/>.</summary>
    public static TempRepo Copy(string repo, string prefix)
    {
        var copy = new TempRepo(prefix);
        Peer.Check("cp", "-a", repo, copy.Path);
        return copy;
    }

    /// <summary>
    /// A copy whose files are hard links to <paramref name="repo"/>'s (<c>cp -al</c>): fast for
    /// the OS-sized repo. Callers may delete, rename or replace files, never write into one.
    /// </summary>
    public static TempRepo LinkCopy(string repo, string prefix)
    {
        var copy = new TempRepo(prefix);
        Peer.Check("cp", "-al", repo, copy.Path);
        return copy;
    }

    /// <summary>
    /// The OS fixture's C2 in a bare-user repo made by <c>ostree pull-local</c>, with the
    /// branch ref and no summary: what a server holding a deployed system looks like. Built
    /// once per test process and deleted by <see cref="SharedRepoCleanup"/>; tests must not change it.
    /// </summary>
    public static string OsBareUserRepo => OsBareUser.Value.Path;

    /// <summary>Deletes the shared repos built so far.</summary>
    public static void DeleteShared()
    {
        if (OsBareUser.IsValueCreated)
        {
            OsBareUser.Value.Dispose();
        }
    }

    /// <summary>Path of an object file in a repo.</summary>
    public static string ObjectPath(string repo, string checksum, string extension) =>
        Path.Combine(repo, "objects", checksum[..2], $"{checksum[2..]}.{extension}");

    /// <summary>The repo-relative URL path of an object.</summary>
    public static string ObjectUrl(string checksum, string extension) => $"objects/{checksum[..2]}/{checksum[2..]}.{extension}";

    private static TempRepo MakeOsBareUser()
    {
        var os = Fixtures.OsRepo;
        var repo = new TempRepo("os-bareuser");
        Peer.Ostree(repo.Path, "init", "--mode=bare-user");
        Peer.Ostree(repo.Path, "pull-local", os.Repo, os.Branch);
        return repo;
    }
}

/// <summary>Deletes the repos <see cref="RepoCopies"/> shares between tests once every test has run.</summary>
public sealed class SharedRepoCleanup : IDisposable
{
    public void Dispose() => RepoCopies.DeleteShared();
}
