using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.ObjectMap.Tests;

/// <summary>Maps built once per test process from the shared fixtures, opened read-only by many tests.</summary>
internal static class TestMaps
{
    private static readonly Lazy<string> Os = new(() =>
        Build(Fixtures.OsRepo.Repo, "os", Fixtures.OsRepo.Commit1, Fixtures.OsRepo.Branch));

    private static readonly Lazy<string> Small = new(() =>
        Build(Fixtures.SmallRepo.ArchiveRepo, "small", ["fixture/v1", "fixture/main", "fixture/wide", .. Fixtures.SmallRepo.CommitXattr is null ? Array.Empty<string>() : ["fixture/xattr"]]));

    /// <summary>The OS fixture's two commits: C1 (by checksum) and C2 (by its branch).</summary>
    public static string OsMap => Os.Value;

    /// <summary>Every ref of the small fixture's archive repo.</summary>
    public static string SmallMap => Small.Value;

    public static string Build(string repo, string name, params string[] revs)
    {
        var output = Path.Combine(Fixtures.TempDirectory("map"), $"{name}.map");
        ObjectMapBuilder.Build(OstreeRepo.Open(repo), revs, output, TestContext.Current.CancellationToken);
        return output;
    }
}
