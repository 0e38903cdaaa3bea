namespace OstreeContainer.TestSupport;

/// <summary>
/// Test repos made by the real <c>ostree</c> with the shared fixture scripts. The small
/// fixture is regenerated once per test process; the OS-sized one (minutes to build) is
/// cached under <c>$OSTREE_CONTAINER_FIXTURES</c> (default /var/tmp/ostree-container-fixtures)
/// and built under a file lock so parallel test projects build it once.
/// </summary>
public static class Fixtures
{
    private static readonly Lazy<SmallFixture> Small = new(MakeSmall);
    private static readonly Lazy<OsFixture> Os = new(MakeOs);

    /// <summary>The directory holding make-fixture-repo.sh and make-os-repo.sh.</summary>
    public static string ScriptsDirectory
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("OSTREE_CONTAINER_FIXTURE_SCRIPTS");
            if (!string.IsNullOrEmpty(fromEnv))
            {
                return fromEnv;
            }

            // shared/ lies beside the checkout; from a git worktree it may be further up.
            for (var dir = Path.GetDirectoryName(RepositoryRoot); dir is not null; dir = Path.GetDirectoryName(dir))
            {
                var candidate = Path.Combine(dir, "shared", "fixtures");
                if (File.Exists(Path.Combine(candidate, "make-fixture-repo.sh")))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException($"fixture scripts (shared/fixtures/make-fixture-repo.sh) not found beside {RepositoryRoot}; set OSTREE_CONTAINER_FIXTURE_SCRIPTS to the folder holding them");
        }
    }

    /// <summary>The checkout root (the folder holding OstreeContainer.sln).</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "OstreeContainer.sln")))
            {
                dir = Path.GetDirectoryName(dir);
            }

            return dir ?? throw new InvalidOperationException("OstreeContainer.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The small deterministic fixture (make-fixture-repo.sh), with summary and deltas.</summary>
    public static SmallFixture SmallRepo => Small.Value;

    /// <summary>The OS-sized fixture (make-os-repo.sh): two commits, a delta, a summary.</summary>
    public static OsFixture OsRepo => Os.Value;

    private static readonly string TempRoot = CreateTempRoot();

    /// <summary>A fresh empty directory under this process's temp folder (removed by a later test run).</summary>
    public static string TempDirectory(string prefix)
    {
        var path = Path.Combine(TempRoot, $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 17)]);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// This process's temp folder. Folders left by earlier test processes that have exited
    /// are removed here, not at exit: deleting OS-sized trees while the test host shuts
    /// down can outlast its exit deadline.
    /// </summary>
    private static string CreateTempRoot()
    {
        var parent = Path.Combine(Path.GetTempPath(), "ostree-container-tests");
        Directory.CreateDirectory(parent);
        foreach (var stale in Directory.EnumerateDirectories(parent, "run-*"))
        {
            if (int.TryParse(Path.GetFileName(stale)["run-".Length..], out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                TryDelete(stale);
            }
        }

        var root = Path.Combine(parent, $"run-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        return root;
    }

    private static SmallFixture MakeSmall()
    {
        var dir = Path.Combine(TempRoot, "fixture");
        Peer.Run("bash", [Path.Combine(ScriptsDirectory, "make-fixture-repo.sh"), dir], env: new Dictionary<string, string> { ["WITH_SUMMARY"] = "1" })
            .EnsureSuccess("make-fixture-repo.sh");
        var vectors = File.ReadLines(Path.Combine(dir, "vectors.txt"))
            .TakeWhile(l => !l.StartsWith("---", StringComparison.Ordinal))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        return new SmallFixture(dir, vectors);
    }

    private static OsFixture MakeOs()
    {
        var root = Environment.GetEnvironmentVariable("OSTREE_CONTAINER_FIXTURES") ?? "/var/tmp/ostree-container-fixtures";
        var dir = Path.Combine(root, "os");
        var env = Path.Combine(dir, "commits.env");
        if (!File.Exists(env))
        {
            Directory.CreateDirectory(root);
            // flock serialises concurrent test processes; the inner test re-checks after the lock.
            var script = $"[ -f '{env}' ] || EMPTY_DELTAS=0 bash '{Path.Combine(ScriptsDirectory, "make-os-repo.sh")}' '{dir}' > '{root}/make-os-repo.log' 2>&1";
            Peer.Run("flock", [Path.Combine(root, ".lock"), "bash", "-c", script], timeout: TimeSpan.FromMinutes(20))
                .EnsureSuccess($"make-os-repo.sh (log: {root}/make-os-repo.log)");
        }

        var values = File.ReadLines(env).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        return new OsFixture(dir, values["REPO"], values["BRANCH"], values["C1"], values["C2"]);
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>The small fixture: <c>repo-archive</c>, <c>repo-bareuser</c>, input trees and checksum vectors.</summary>
public sealed record SmallFixture(string Directory, IReadOnlyDictionary<string, string> Vectors)
{
    public string ArchiveRepo => Path.Combine(Directory, "repo-archive");

    public string BareUserRepo => Path.Combine(Directory, "repo-bareuser");

    public string Commit1 => Vectors["commit1"];

    public string Commit2 => Vectors["commit2"];

    public string? CommitXattr => Vectors["commit_xattr"] == "none" ? null : Vectors["commit_xattr"];

    public string CommitWide => Vectors["commit_wide"];

    public string Tree(string name) => Path.Combine(Directory, name);
}

/// <summary>The OS-sized fixture: an archive repo with two commits on one branch.</summary>
public sealed record OsFixture(string Directory, string Repo, string Branch, string Commit1, string Commit2)
{
    public string Tree1 => Path.Combine(Directory, "tree1");

    public string Tree2 => Path.Combine(Directory, "tree2");
}
