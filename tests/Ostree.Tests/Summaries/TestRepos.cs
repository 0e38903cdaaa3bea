using System.Security.Cryptography;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
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
    public static List<(string Name, Checksum Commit)> HeadRefs(string repo) =>
        [.. OstreeRepo.Open(repo).ListRefs(RefKind.Head).Select(r => (r.Key.Name, r.Value))];

    public static string ObjectPath(string repo, Checksum checksum, string extension)
    {
        ObjectTypeExtensions.TryParseExtension(extension, out var type);
        return OstreeRepo.Open(repo).ObjectPath(checksum, type);
    }

    public static byte[] CommitObject(string repo, Checksum checksum) => OstreeRepo.Open(repo).ReadMetadataBytes(checksum, ObjectType.Commit);

    /// <summary>A builder fed exactly what <c>ostree summary -u</c> reads from <paramref name="repo"/>.</summary>
    public static SummaryBuilder BuilderLikeOstree(string repo, DateTimeOffset lastModified)
    {
        var builder = SummaryBuilder.ForRepository(OstreeRepo.Open(repo));
        builder.LastModified = lastModified;
        return builder;
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
