using System.Text;
using Microsoft.Data.Sqlite;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.ObjectMap.Tests;

public class ObjectMapBuilderTests
{
    public static TheoryData<string, string> FixtureCommits => new()
    {
        { "archive", "fixture/v1" },
        { "archive", "fixture/main" },
        { "archive", "fixture/wide" },
        { "bare-user", "fixture/v1" },
        { "bare-user", "fixture/main" },
    };

    [Fact]
    public void Build_OsCommit_EveryPathMatchesOstreeLs()
    {
        var os = Fixtures.OsRepo;
        using var map = ObjectMapReader.Open(TestMaps.OsMap);

        AssertMatchesOstreeLs(map, os.Repo, os.Commit2);
        AssertMatchesOstreeLs(map, os.Repo, os.Commit1);
    }

    [Theory]
    [MemberData(nameof(FixtureCommits))]
    public void Build_FixtureCommit_EveryPathMatchesOstreeLs(string mode, string rev)
    {
        var repo = mode == "archive" ? Fixtures.SmallRepo.ArchiveRepo : Fixtures.SmallRepo.BareUserRepo;
        using var map = ObjectMapReader.Open(TestMaps.Build(repo, mode, rev));

        AssertMatchesOstreeLs(map, repo, rev);
    }

    [Fact]
    public void Build_XattrCommit_XattrsMatchOstreeLs()
    {
        var fx = Fixtures.SmallRepo;
        Assert.SkipWhen(fx.CommitXattr is null, "the fixture has no xattr commit (setfattr or user xattrs unavailable)");
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        var expected = OstreeLs.List(fx.ArchiveRepo, "fixture/xattr", xattrs: true);

        foreach (var line in expected)
        {
            Assert.True(map.TryGetEntry(line.Path, "fixture/xattr", out var entry), line.Path);
            Assert.Equal(line.Xattrs!.Select(x => (x.Name, Convert.ToHexString(x.Value))), entry.Xattrs.Select(x => (x.Name, Convert.ToHexString(x.Value))));
        }

        Assert.Contains(expected, l => l.Xattrs!.Count > 0);
        AssertMatchesOstreeLs(map, fx.ArchiveRepo, "fixture/xattr");
    }

    [Fact]
    public void Build_FixtureCommits_RecordsCommitsLikeOstreeShow()
    {
        var fx = Fixtures.SmallRepo;
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);

        var main = map.ResolveCommit("fixture/main");
        var v1 = map.ResolveCommit(fx.Commit1);

        Assert.Equal(fx.Commit2, main.Checksum.ToString());
        Assert.Equal(["fixture/main"], main.Refs);
        Assert.Equal("fixture commit 2", main.Subject);
        Assert.Equal(fx.Commit1, main.Parent.ToString());
        Assert.Equal("2.0", main.Version);
        Assert.Equal("'2.0'", Peer.Ostree(fx.ArchiveRepo, "show", "--print-metadata-key=version", "fixture/main").Trim());
        Assert.Contains("Date:  2024-01-02 00:00:00 +0000", Peer.Ostree(fx.ArchiveRepo, "show", "fixture/main"));
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 0, 0, 0, TimeSpan.Zero), main.Timestamp);
        Assert.Equal("2.0", main.Metadata.GetProperty("version").GetString());
        Assert.Equal("fixture/main", main.Metadata.GetProperty("ostree.ref-binding")[0].GetString());
        var root = OstreeLs.Parse(Peer.Ostree(fx.ArchiveRepo, "ls", "-d", "-C", "fixture/main", "/").Trim());
        Assert.Equal((root.Checksum, root.DirMeta), (main.RootDirTree.ToString(), main.RootDirMeta.ToString()));
        Assert.Equal(("first body", (Checksum?)null, (string?)null), (v1.Body, v1.Parent, v1.Version));
    }

    [Fact]
    public void Build_SameCommitsTwice_WritesIdenticalBytes()
    {
        var fx = Fixtures.SmallRepo;

        var first = TestMaps.Build(fx.ArchiveRepo, "a", "fixture/main", fx.Commit1);
        var second = TestMaps.Build(fx.ArchiveRepo, "b", "fixture/main", fx.Commit1);

        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    [Fact]
    public void Build_RepoMissingDirTree_LeavesNoOutputAndNamesTheObject()
    {
        var repo = CopyOfSmallRepo();
        var usrBin = OstreeLs.List(repo, "fixture/main").Single(l => l.Path == "/usr/bin").Checksum;
        File.Delete(Path.Combine(repo, "objects", usrBin[..2], usrBin[2..] + ".dirtree"));
        var dir = Fixtures.TempDirectory("map-fail");
        var output = Path.Combine(dir, "fixture.map");

        var e = Assert.Throws<InvalidDataException>(() => ObjectMapBuilder.Build(OstreeRepo.Open(repo), ["fixture/main"], output, TestContext.Current.CancellationToken));

        Assert.Contains($"dirtree {usrBin} is missing", e.Message);
        Assert.StartsWith($"commit {Fixtures.SmallRepo.Commit2}: /usr/bin: ", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void Build_RepoMissingContentObject_KeepsTheOldMapAndNamesThePath()
    {
        var repo = CopyOfSmallRepo();
        var hi = OstreeLs.List(repo, "fixture/main").Single(l => l.Path == "/usr/bin/hi").Checksum;
        File.Delete(Path.Combine(repo, "objects", hi[..2], hi[2..] + ".filez"));
        var output = TestMaps.Build(Fixtures.SmallRepo.ArchiveRepo, "old", "fixture/v1");
        var before = File.ReadAllBytes(output);

        var e = Assert.Throws<InvalidDataException>(() => ObjectMapBuilder.Build(OstreeRepo.Open(repo), ["fixture/main"], output, TestContext.Current.CancellationToken));

        Assert.Contains($"/usr/bin/hi: file {hi} is missing", e.Message);
        Assert.Equal(before, File.ReadAllBytes(output));
        Assert.Single(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(output)!));
    }

    [Fact]
    public void Build_UnknownRef_ThrowsKeyNotFoundAndWritesNothing()
    {
        var dir = Fixtures.TempDirectory("map-ref");

        Assert.Throws<KeyNotFoundException>(() => ObjectMapBuilder.Build(OstreeRepo.Open(Fixtures.SmallRepo.ArchiveRepo), ["fixture/main", "no/such/ref"], Path.Combine(dir, "x.map"), TestContext.Current.CancellationToken));

        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void Build_OutputDirectoryMissing_ThrowsDirectoryNotFound()
    {
        var output = Path.Combine(Fixtures.TempDirectory("map-nodir"), "missing", "x.map");

        var e = Assert.Throws<DirectoryNotFoundException>(() => ObjectMapBuilder.Build(OstreeRepo.Open(Fixtures.SmallRepo.ArchiveRepo), ["fixture/main"], output, TestContext.Current.CancellationToken));

        Assert.Contains(output, e.Message);
    }

    [Fact]
    public void Build_Cancelled_ThrowsAndWritesNothing()
    {
        var dir = Fixtures.TempDirectory("map-cancel");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => ObjectMapBuilder.Build(OstreeRepo.Open(Fixtures.SmallRepo.ArchiveRepo), ["fixture/main"], Path.Combine(dir, "x.map"), cancelled.Token));

        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void Build_FixtureCommit_WritesSchemaVersionOneWithBothIndexes()
    {
        using var connection = new SqliteConnection($"Data Source={TestMaps.SmallMap};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();

        command.CommandText = "SELECT value FROM meta WHERE key = 'schema_version'";
        var version = command.ExecuteScalar();
        command.CommandText = "EXPLAIN QUERY PLAN SELECT parent, name FROM entries WHERE checksum = x'00'";
        var byChecksum = PlanOf(command);
        command.CommandText = "EXPLAIN QUERY PLAN SELECT checksum FROM entries WHERE commit_id = 1 AND parent = '/usr/' AND name = 'bin'";
        var byPath = PlanOf(command);

        Assert.Equal("1", version);
        Assert.Contains("USING COVERING INDEX entries_by_checksum", byChecksum);
        Assert.Contains("USING PRIMARY KEY", byPath);
    }

    /// <summary>
    /// Every line of <c>ostree ls -R -C REV</c> has an equal entry in the map, and walking the
    /// map from the root with <see cref="ObjectMapReader.ListDirectory"/> finds exactly those paths.
    /// </summary>
    internal static void AssertMatchesOstreeLs(ObjectMapReader map, string repo, string rev)
    {
        var expected = OstreeLs.List(repo, rev);
        var commit = Peer.Ostree(repo, "rev-parse", rev).Trim();
        foreach (var line in expected)
        {
            Assert.True(map.TryGetEntry(line.Path, commit, out var entry), $"{rev}: {line.Path} is missing from the map");
            var type = line.Type switch { 'd' => EntryType.Directory, 'l' => EntryType.Symlink, _ => EntryType.File };
            Assert.Equal(
                (line.Path, type, line.Permissions, line.Uid, line.Gid, line.Size, line.Checksum, line.DirMeta, line.SymlinkTarget),
                (entry.Path, entry.Type, entry.Mode & StatMode.PermissionMask, entry.Uid, entry.Gid, entry.Size, entry.Checksum.ToString(), entry.DirMeta?.ToString(), entry.SymlinkTarget));
            Assert.Equal(type switch { EntryType.Directory => StatMode.Directory, EntryType.Symlink => StatMode.Symlink, _ => StatMode.Regular }, entry.Mode & StatMode.TypeMask);
            Assert.Equal(commit, entry.Commit.ToString());
        }

        Assert.Equal(expected.Select(l => l.Path).Order(StringComparer.Ordinal), Walk(map, commit).Order(StringComparer.Ordinal));
    }

    private static List<string> Walk(ObjectMapReader map, string commit)
    {
        var paths = new List<string> { "/" };
        var pending = new Stack<string>(["/"]);
        while (pending.TryPop(out var dir))
        {
            foreach (var child in map.ListDirectory(dir, commit)!)
            {
                paths.Add(child.Path);
                if (child.Type == EntryType.Directory)
                {
                    pending.Push(child.Path);
                }
            }
        }

        return paths;
    }

    private static string PlanOf(SqliteCommand command)
    {
        var plan = new StringBuilder();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            plan.AppendLine(reader.GetString(3));
        }

        return plan.ToString();
    }

    private static string CopyOfSmallRepo()
    {
        var copy = Path.Combine(Fixtures.TempDirectory("map-repo"), "repo");
        Peer.Check("cp", "-a", Fixtures.SmallRepo.ArchiveRepo, copy);
        return copy;
    }
}
