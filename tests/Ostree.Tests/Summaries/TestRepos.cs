using System.Security.Cryptography;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Summaries;

/// <summary>
/// Reads the plain inputs of a summary (refs, commit objects, mode) straight from a repo
/// made by the real ostree; stands in for the repository class until it exists.
/// </summary>
internal static class TestRepos
{
    /// <summary>The repos the theories run against: the small fixture and the OS-sized one.</summary>
    public static TheoryData<string> Both => new() { "small", "os" };

    public static string Path(string which) => which switch
    {
        "small" => Fixtures.SmallRepo.ArchiveRepo,
        "os" => Fixtures.OsRepo.Repo,
        _ => throw new ArgumentOutOfRangeException(nameof(which), which, "unknown fixture"),
    };

    /// <summary>Every ref under refs/heads with the commit it names (ostree lists these in the summary).</summary>
    public static List<(string Name, Checksum Commit)> HeadRefs(string repo)
    {
        var heads = System.IO.Path.Combine(repo, "refs", "heads");
        return Directory.EnumerateFiles(heads, "*", SearchOption.AllDirectories)
            .Select(f => (System.IO.Path.GetRelativePath(heads, f).Replace('\\', '/'), Checksum.Parse(File.ReadAllText(f).Trim())))
            .ToList();
    }

    public static string ObjectPath(string repo, Checksum checksum, string extension)
    {
        var hex = checksum.ToString();
        return System.IO.Path.Combine(repo, "objects", hex[..2], $"{hex[2..]}.{extension}");
    }

    public static byte[] CommitObject(string repo, Checksum checksum) => File.ReadAllBytes(ObjectPath(repo, checksum, "commit"));

    /// <summary>core.mode from the repo's config (ostree's default is bare).</summary>
    public static string Mode(string repo) =>
        File.ReadLines(System.IO.Path.Combine(repo, "config"))
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("mode=", StringComparison.Ordinal))
            .Select(l => l["mode=".Length..])
            .FirstOrDefault() ?? "bare";

    /// <summary>A builder fed exactly what <c>ostree summary -u</c> reads from <paramref name="repo"/>.</summary>
    public static SummaryBuilder BuilderLikeOstree(string repo, DateTimeOffset lastModified)
    {
        var builder = new SummaryBuilder(Mode(repo)) { LastModified = lastModified };
        foreach (var (name, commit) in HeadRefs(repo))
        {
            builder.AddRef(name, commit, CommitObject(repo, commit));
        }

        return builder.AddDeltas(StaticDeltas.List(repo));
    }

    /// <summary>A private copy of <paramref name="repo"/> that a test may modify.</summary>
    public static string Copy(string repo, string prefix)
    {
        var copy = System.IO.Path.Combine(Fixtures.TempDirectory(prefix), "repo");
        Peer.Check("cp", "-a", repo, copy);
        return copy;
    }

    public static Checksum Sha256File(string path) => Checksum.FromBytes(SHA256.HashData(File.ReadAllBytes(path)));
}
