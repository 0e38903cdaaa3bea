using Microsoft.Data.Sqlite;
using OstreeContainer.Errors;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ObjectMap.Tests;

public class ObjectMapReaderTests
{
    /// <summary>FindPaths orders the uses within one commit byte-wise by path.</summary>
    private static readonly Comparer<(string Commit, string Path)> ByPath = Comparer<(string Commit, string Path)>.Create((a, b) => string.CompareOrdinal(a.Path, b.Path));

    [Fact]
    public void FindPaths_ChecksumUsedBySeveralPaths_ReturnsEveryUseInEveryCommit()
    {
        var os = Fixtures.OsRepo;
        var c1 = OstreeLs.List(os.Repo, os.Commit1);
        var c2 = OstreeLs.List(os.Repo, os.Commit2);
        var shared = c2.Where(l => l.Type == '-').GroupBy(l => l.Checksum).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
        var expected = c2.Where(l => l.Checksum == shared).Select(l => (os.Commit2, l.Path)).Order(ByPath)
            .Concat(c1.Where(l => l.Checksum == shared).Select(l => (os.Commit1, l.Path)).Order(ByPath))
            .ToList();
        using var map = ObjectMapReader.Open(TestMaps.OsMap);

        var found = map.FindPaths(Checksum.Parse(shared));

        Assert.True(expected.Count(e => e.Item1 == os.Commit2) >= 3, $"{shared} is used by {expected.Count} paths");
        Assert.Equal(expected, found.Select(p => (p.Commit.ToString(), p.Path)));
    }

    [Fact]
    public void FindPaths_UnknownChecksum_ReturnsNothing()
    {
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        Assert.Empty(map.FindPaths(Checksum.Compute([1, 2, 3])));
    }

    [Fact]
    public void Diff_OsCommits_AgreesWithOstreeDiff()
    {
        var os = Fixtures.OsRepo;
        using var map = ObjectMapReader.Open(TestMaps.OsMap);

        var diff = map.Diff(os.Commit1, os.Branch);

        AssertAgreesWithOstreeDiff(diff, Peer.Ostree(os.Repo, "diff", os.Commit1, os.Commit2));
        Assert.Equal((os.Commit1, os.Commit2), (diff.From.ToString(), diff.To.ToString()));
        Assert.NotEmpty(diff.Added);
        Assert.NotEmpty(diff.Removed);
        Assert.NotEmpty(diff.Changed);
    }

    [Fact]
    public void Diff_FixtureCommits_AgreesWithOstreeDiffBothWays()
    {
        var fx = Fixtures.SmallRepo;
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        AssertAgreesWithOstreeDiff(map.Diff("fixture/v1", "fixture/main"), Peer.Ostree(fx.ArchiveRepo, "diff", "fixture/v1", "fixture/main"));
        AssertAgreesWithOstreeDiff(map.Diff("fixture/main", "fixture/wide"), Peer.Ostree(fx.ArchiveRepo, "diff", "fixture/main", "fixture/wide"));
        AssertAgreesWithOstreeDiff(map.Diff("fixture/wide", "fixture/main"), Peer.Ostree(fx.ArchiveRepo, "diff", "fixture/wide", "fixture/main"));
    }

    [Fact]
    public void Diff_DirModeAndTypeChanges_AgreesWithOstreeDiffPlusTheNewDirectorysChildren()
    {
        var dir = Fixtures.TempDirectory("map-diff");
        var a = Directory.CreateDirectory(Path.Combine(dir, "a")).FullName;
        Directory.CreateDirectory(Path.Combine(a, "d"));
        File.WriteAllText(Path.Combine(a, "d", "f"), "same");
        File.WriteAllText(Path.Combine(a, "x"), "a file");
        Directory.CreateDirectory(Path.Combine(a, "gone", "deeper"));
        File.WriteAllText(Path.Combine(a, "gone", "deeper", "g"), "g");
        var b = Path.Combine(dir, "b");
        Peer.Check("cp", "-a", a, b);
        File.SetUnixFileMode(Path.Combine(b, "d"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Delete(Path.Combine(b, "x"));
        Directory.CreateDirectory(Path.Combine(b, "x"));
        File.WriteAllText(Path.Combine(b, "x", "child"), "now a directory");
        Directory.Delete(Path.Combine(b, "gone"), recursive: true);
        var repo = Path.Combine(dir, "repo");
        Peer.Check("ostree", "init", $"--repo={repo}", "--mode=archive");
        // Ref names that cannot be read as checksum prefixes.
        Peer.Ostree(repo, "commit", "-b", "old", "--owner-uid=0", "--owner-gid=0", "--no-xattrs", "--timestamp=@1", a);
        Peer.Ostree(repo, "commit", "-b", "new", "--owner-uid=0", "--owner-gid=0", "--no-xattrs", "--timestamp=@2", b);
        using var map = ObjectMapReader.Open(TestMaps.Build(repo, "diff", "old", "new"));

        var diff = map.Diff("old", "new");

        Assert.Equal(["/d", "/x"], diff.Changed);
        Assert.Equal(["/x/child"], diff.Added);
        Assert.Equal(["/gone", "/gone/deeper", "/gone/deeper/g"], diff.Removed);
        AssertAgreesWithOstreeDiff(diff with { Added = [.. diff.Added.Where(p => !diff.Changed.Contains(p[..p.LastIndexOf('/')]))] }, Peer.Ostree(repo, "diff", "old", "new"));
    }

    [Fact]
    public void Diff_SameCommit_IsEmpty()
    {
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        var diff = map.Diff("fixture/main", Fixtures.SmallRepo.Commit2);

        Assert.Equal(0, diff.Added.Count + diff.Removed.Count + diff.Changed.Count);
    }

    [Fact]
    public void TryGetEntry_TwoCommitMap_AnswersPerCommit()
    {
        var fx = Fixtures.SmallRepo;
        var v1 = OstreeLs.List(fx.ArchiveRepo, "fixture/v1").Single(l => l.Path == "/etc/hello.txt");
        var main = OstreeLs.List(fx.ArchiveRepo, "fixture/main").Single(l => l.Path == "/etc/hello.txt");
        using var map = ObjectMapReader.Open(TestMaps.Build(fx.ArchiveRepo, "two", "fixture/v1", "fixture/main"));

        Assert.True(map.TryGetEntry("/etc/hello.txt", "fixture/v1", out var inV1));
        Assert.True(map.TryGetEntry("/etc/hello.txt", fx.Commit2, out var inMain));
        Assert.True(map.TryGetEntry("/etc/hello.txt", out var inNewest));

        Assert.NotEqual(v1.Checksum, main.Checksum);
        Assert.Equal((v1.Checksum, v1.Size, fx.Commit1), (inV1.Checksum.ToString(), inV1.Size, inV1.Commit.ToString()));
        Assert.Equal((main.Checksum, main.Size, fx.Commit2), (inMain.Checksum.ToString(), inMain.Size, inMain.Commit.ToString()));
        Assert.Equal(inMain, inNewest with { Xattrs = inMain.Xattrs });
    }

    [Fact]
    public void TryGetEntry_NoCommitGiven_UsesNewestByTimestampWhateverTheOrderBuilt()
    {
        var fx = Fixtures.SmallRepo;
        using var map = ObjectMapReader.Open(TestMaps.Build(fx.ArchiveRepo, "order", "fixture/main", "fixture/v1"));

        Assert.True(map.TryGetEntry("/etc/hello.txt", out var entry));

        Assert.Equal(fx.Commit2, entry.Commit.ToString());
        Assert.Equal([fx.Commit2, fx.Commit1], map.ListCommits().Select(c => c.Checksum.ToString()));
    }

    [Theory]
    [InlineData("usr/bin/hi", "/usr/bin/hi")]
    [InlineData("/usr//bin/hi", "/usr/bin/hi")]
    [InlineData("/usr/bin/", "/usr/bin")]
    [InlineData("/", "/")]
    [InlineData("//", "/")]
    public void TryGetEntry_NonCanonicalPath_FindsTheCanonicalEntry(string asked, string canonical)
    {
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        Assert.True(map.TryGetEntry(asked, "fixture/main", out var entry));

        Assert.Equal(canonical, entry.Path);
    }

    [Theory]
    [InlineData("/nope")]
    [InlineData("/usr/bin/hi/deeper")]
    [InlineData("/ETC")]
    public void TryGetEntry_MissingPath_ReturnsFalse(string path)
    {
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        Assert.False(map.TryGetEntry(path, "fixture/main", out var entry));
        Assert.Null(entry);
    }

    [Theory]
    [InlineData("/usr/../etc")]
    [InlineData("/./etc")]
    [InlineData("")]
    [InlineData("/etc\0x")]
    public void TryGetEntry_DotDotOrEmptyPath_ThrowsUserInputException(string path)
    {
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        Assert.Throws<UserInputException>(() => map.TryGetEntry(path, out _));
    }

    [Fact]
    public void TryGetEntry_CommitNotInMap_ThrowsKeyNotFoundNamingIt()
    {
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        var e = Assert.Throws<KeyNotFoundException>(() => map.TryGetEntry("/", "fixture/nope", out _));

        Assert.Contains("'fixture/nope'", e.Message);
        Assert.False(map.TryResolveCommit("fixture/nope", out _));
        Assert.False(map.TryResolveCommit(Checksum.Compute([]).ToString(), out _));
        Assert.True(map.TryResolveCommit(Fixtures.SmallRepo.Commit1, out var v1));
        Assert.Equal(["fixture/v1"], v1.Refs);
    }

    [Fact]
    public void ListDirectory_FileOrMissingPath_ReturnsNull()
    {
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        Assert.Null(map.ListDirectory("/usr/bin/hi", "fixture/main"));
        Assert.Null(map.ListDirectory("/nope", "fixture/main"));
        Assert.Empty(map.ListDirectory("/var/empty-dir", "fixture/main")!);
    }

    [Fact]
    public void ListDirectory_WideDirectory_ListsEntriesInOstreeOrder()
    {
        var fx = Fixtures.SmallRepo;
        var expected = Peer.Ostree(fx.ArchiveRepo, "ls", "-C", "fixture/wide", "/many").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(OstreeLs.Parse).Select(l => l.Path).Skip(1).ToList();
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        var listed = map.ListDirectory("/many", "fixture/wide")!;

        Assert.Equal(2000, listed.Count);
        Assert.Equal(expected, listed.Select(e => e.Path));
    }

    [Fact]
    public void ListCommits_FixtureMap_NewestFirstWithRefs()
    {
        var fx = Fixtures.SmallRepo;
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        var commits = map.ListCommits();

        Assert.Equal(commits.OrderByDescending(c => c.Timestamp).Select(c => c.Checksum), commits.Select(c => c.Checksum));
        Assert.Contains(commits, c => c.Checksum.ToString() == fx.CommitWide && c.Refs.SequenceEqual(["fixture/wide"]));
        Assert.Contains(commits, c => c.Checksum.ToString() == fx.Commit1 && c.Refs.SequenceEqual(["fixture/v1"]));
    }

    [Fact]
    public void Open_UnknownSchemaVersion_ThrowsOneInvalidDataException()
    {
        var copy = Path.Combine(Fixtures.TempDirectory("map-ver"), "future.map");
        File.Copy(TestMaps.SmallMap, copy);
        using (var connection = new SqliteConnection($"Data Source={copy};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE meta SET value = '999' WHERE key = 'schema_version'";
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        var e = Assert.Throws<InvalidDataException>(() => ObjectMapReader.Open(copy));

        Assert.Contains("schema version '999' is not supported", e.Message);
        Assert.Contains(copy, e.Message);
    }

    [Fact]
    public void Open_NotADatabase_ThrowsInvalidDataException()
    {
        var junk = Path.Combine(Fixtures.TempDirectory("map-junk"), "junk.map");
        File.WriteAllText(junk, new string('x', 8192));

        var e = Assert.Throws<InvalidDataException>(() => ObjectMapReader.Open(junk));

        Assert.Contains("not an object map", e.Message);
    }

    [Fact]
    public void Open_EmptySqliteDatabase_ThrowsInvalidDataException()
    {
        var empty = Path.Combine(Fixtures.TempDirectory("map-empty"), "empty.map");
        using (var connection = new SqliteConnection($"Data Source={empty};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE other (x)";
            command.ExecuteNonQuery();
        }

        var e = Assert.Throws<InvalidDataException>(() => ObjectMapReader.Open(empty));

        Assert.Contains("not an object map", e.Message);
    }

    [Fact]
    public void TryGetEntry_DamagedPages_ThrowsOnlyInvalidDataException()
    {
        var fx = Fixtures.SmallRepo;
        var damaged = Path.Combine(Fixtures.TempDirectory("map-damaged"), "damaged.map");
        File.Copy(TestMaps.Build(fx.ArchiveRepo, "wide", "fixture/wide"), damaged);
        var bytes = File.ReadAllBytes(damaged);
        bytes.AsSpan(bytes.Length / 2, bytes.Length / 4).Fill(0xa5);
        File.WriteAllBytes(damaged, bytes);
        var paths = OstreeLs.List(fx.ArchiveRepo, "fixture/wide").Select(l => l.Path).ToList();
        using var map = ObjectMapReader.Open(damaged);

        var failures = paths.Select(p => Record.Exception(() => map.TryGetEntry(p, out _))).OfType<Exception>().ToList();

        Assert.NotEmpty(failures);
        Assert.All(failures, e => Assert.IsType<InvalidDataException>(e));
    }

    [Fact]
    public void Open_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => ObjectMapReader.Open("/nonexistent/object-map"));
    }

    [Fact]
    public void Open_PathNeedingUriEscapes_Opens()
    {
        var odd = Path.Combine(Fixtures.TempDirectory("map-odd"), "a b?c#d%20.map");
        File.Copy(TestMaps.SmallMap, odd);

        using var map = ObjectMapReader.Open(odd);

        Assert.True(map.TryGetEntry("/etc/hello.txt", "fixture/main", out _));
    }

    [Fact]
    public void TryGetEntry_ManyThreads_GiveTheSameAnswersAsOneThread()
    {
        var os = Fixtures.OsRepo;
        var paths = OstreeLs.List(os.Repo, os.Commit2).Select(l => l.Path).ToArray();
        using var map = ObjectMapReader.Open(TestMaps.OsMap);
        var expected = paths.Select(p => Describe(map, p)).ToArray();

        var results = new string[4][];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = results.Length }, t =>
        {
            var random = new Random(t);
            var order = Enumerable.Range(0, paths.Length).OrderBy(_ => random.Next()).ToArray();
            var answers = new string[paths.Length];
            foreach (var i in order)
            {
                answers[i] = Describe(map, paths[i]);
                if (i % 512 == 0)
                {
                    Assert.NotEmpty(map.FindPaths(map.ResolveCommit(os.Commit2).RootDirTree));
                    Assert.NotNull(map.ListDirectory("/usr/bin", os.Commit1));
                }
            }

            results[t] = answers;
        });

        Assert.All(results, answers => Assert.Equal(expected, answers));
    }

    private static string Describe(ObjectMapReader map, string path) =>
        map.TryGetEntry(path, Fixtures.OsRepo.Commit2, out var e) ? $"{e.Path} {e.Type} {e.Checksum} {e.Mode} {e.Size} {e.SymlinkTarget}" : "missing";

    /// <summary>
    /// ostree diff prints A for every added path, D only for the top of a removed tree, M
    /// for a type change, a content change or a directory's dirmeta change.
    /// </summary>
    private static void AssertAgreesWithOstreeDiff(ObjectMapDiff diff, string ostreeDiff)
    {
        var lines = ostreeDiff.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (Kind: l[0], Path: l[1..].Trim())).ToList();
        string[] Of(char kind) => [.. lines.Where(l => l.Kind == kind).Select(l => l.Path).Order(StringComparer.Ordinal)];
        var removedTops = diff.Removed.Where(p => !diff.Removed.Contains(p[..Math.Max(1, p.LastIndexOf('/'))])).ToArray();

        Assert.Equal(Of('A'), diff.Added);
        Assert.Equal(Of('M'), diff.Changed);
        Assert.Equal(Of('D'), removedTops);
        Assert.All(diff.Removed, p => Assert.Contains(removedTops, top => p == top || p.StartsWith(top + "/", StringComparison.Ordinal)));
    }
}
