using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Tests.Deltas;

/// <summary>
/// Repos and deltas the apply tests share, each built once per test process by the real
/// <c>ostree</c>: the OS fixture's C1 in every mode, and the "odd" tree's commits and deltas
/// (make-odd-deltas.sh). Tests never write into these; they take a hardlinked copy
/// (objects are never modified in place, so sharing their inodes is safe).
/// </summary>
internal static class ApplyFixtures
{
    public static readonly string[] Modes = ["archive", "bare-user", "bare"];

    private static readonly Lazy<OddDeltas> OddValue = new(MakeOdd);
    private static readonly Dictionary<string, Lazy<string>> OsBases = Modes.ToDictionary(
        m => m, m => new Lazy<string>(() => PullInto(m, Fixtures.OsRepo.Repo, Fixtures.OsRepo.Commit1)), StringComparer.Ordinal);

    private static readonly Lazy<SortedSet<string>> OsExpectedValue = new(() =>
    {
        var repo = CopyRepo(OsBases["bare-user"].Value);
        Peer.Ostree(repo, "static-delta", "apply-offline", OsDeltaDirectory);
        return ObjectSet(repo);
    });

    /// <summary>The odd tree's repo and deltas.</summary>
    public static OddDeltas Odd => OddValue.Value;

    /// <summary>The OS fixture's own C1 -> C2 delta directory, made by ostree.</summary>
    public static string OsDeltaDirectory => Path.Combine(Fixtures.OsRepo.Repo, OsDeltaName.RelativeDirectory);

    public static OstreeContainer.Ostree.Summaries.DeltaName OsDeltaName => new(Checksum.Parse(Fixtures.OsRepo.Commit1), Checksum.Parse(Fixtures.OsRepo.Commit2));

    /// <summary>A repo in <paramref name="mode"/> holding the OS fixture's C1 (shared: copy before writing).</summary>
    public static string OsBase(string mode) => OsBases[mode].Value;

    /// <summary>The objects <c>ostree static-delta apply-offline</c> leaves in a bare-user repo holding C1.</summary>
    public static SortedSet<string> OsExpected => OsExpectedValue.Value;

    /// <summary>A new empty repo made by <c>ostree init</c>.</summary>
    public static string NewRepo(string mode)
    {
        var dir = Fixtures.TempDirectory($"repo-{mode}");
        Peer.Ostree(dir, "init", $"--mode={mode}");
        return dir;
    }

    /// <summary>A new repo in <paramref name="mode"/> with <paramref name="commit"/> pulled from <paramref name="source"/>.</summary>
    public static string PullInto(string mode, string source, string commit)
    {
        var dir = NewRepo(mode);
        Peer.Ostree(dir, "pull-local", source, commit);
        return dir;
    }

    /// <summary>A copy of <paramref name="repo"/> whose object files are hardlinks.</summary>
    public static string CopyRepo(string repo)
    {
        var dir = Fixtures.TempDirectory("copy");
        Directory.Delete(dir);
        Peer.Check("cp", "-al", repo, dir);
        return dir;
    }

    /// <summary>Every object of a repo as <c>checksum.type</c> (mode-independent names).</summary>
    public static SortedSet<string> ObjectSet(string repo) =>
        new(OstreeRepo.Open(repo).EnumerateObjects().Select(o => $"{o.Checksum}.{o.Type.Name()}"), StringComparer.Ordinal);

    /// <summary>Runs <c>ostree fsck</c> and fails with its output unless it is clean.</summary>
    public static void AssertFsckClean(string repo)
    {
        var result = Peer.Run("ostree", [$"--repo={repo}", "fsck"]);
        Assert.True(result.ExitCode == 0, $"ostree fsck: {result.Stderr} {result.Stdout}");
        Assert.DoesNotContain("corrupt", result.Stdout, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>No staging directory or temp file was left under <c>tmp/</c>.</summary>
    public static void AssertNoLeftovers(string repo)
    {
        var tmp = Path.Combine(repo, "tmp");
        var left = Directory.Exists(tmp)
            ? Directory.EnumerateFileSystemEntries(tmp).Select(Path.GetFileName).Where(n => n!.StartsWith("staging-", StringComparison.Ordinal) || n.StartsWith("delta-", StringComparison.Ordinal) || n.StartsWith("read-source-", StringComparison.Ordinal)).ToList()
            : [];
        Assert.Empty(left);
    }

    private static OddDeltas MakeOdd()
    {
        var dir = Path.Combine(Fixtures.TempDirectory("odd"), "odd");
        var script = Path.Combine(Fixtures.RepositoryRoot, "tests", "Ostree.Tests", "Deltas", "Apply", "make-odd-deltas.sh");
        Peer.Run("bash", [script, dir]).EnsureSuccess("make-odd-deltas.sh");
        var values = File.ReadLines(Path.Combine(dir, "commits.env")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        return new OddDeltas(dir, values["O1"], values["O2"]);
    }
}

/// <summary>make-odd-deltas.sh's output: <c>repo</c> (archive) and one directory per delta.</summary>
internal sealed record OddDeltas(string Directory, string Commit1, string Commit2)
{
    public string Repo => Path.Combine(Directory, "repo");

    /// <summary>A delta directory: scratch, scratch-inline, delta (O1 -> O2), scratch-fallback.</summary>
    public string Delta(string name) => Path.Combine(Directory, name);
}
