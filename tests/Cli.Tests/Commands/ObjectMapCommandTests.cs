using System.Text.Json;

namespace OstreeContainer.Cli.Tests.Commands;

public class ObjectMapCommandTests
{
    [Fact]
    public void BuildLookup_FixtureRepo_PrintsTheLineOstreeLsPrints()
    {
        var fx = Fixtures.SmallRepo;
        var map = Path.Combine(Fixtures.TempDirectory("cli-map"), "object-map");

        var build = CliRunner.Run("object-map", "build", "--repo", fx.ArchiveRepo, "--ref", "fixture/v1", "--ref", "fixture/main", "--output", map);

        Assert.Equal(0, build.ExitCode);
        Assert.StartsWith($"{map}: 2 commit(s), ", build.Stdout);
        foreach (var path in new[] { "/etc/hello.txt", "/usr/bin", "/usr/bin/hello-link", "/" })
        {
            var lookup = CliRunner.Run("object-map", "lookup", map, path);
            var expected = Peer.Ostree(fx.ArchiveRepo, "ls", "-d", "-C", "fixture/main", path);
            Assert.Equal((0, Squeeze(expected)), (lookup.ExitCode, Squeeze(lookup.Stdout)));
        }
    }

    [Fact]
    public void Lookup_PathInOlderCommitAsJson_PrintsThatCommitsEntry()
    {
        var fx = Fixtures.SmallRepo;
        var map = BuildMap(fx.ArchiveRepo, "fixture/v1", "fixture/main");
        var expected = OstreeLs.List(fx.ArchiveRepo, "fixture/v1").Single(l => l.Path == "/etc/hello.txt");

        var lookup = CliRunner.Run("object-map", "lookup", map, "/etc/hello.txt", "--commit", "fixture/v1", "--json");

        Assert.Equal(0, lookup.ExitCode);
        using var json = JsonDocument.Parse(lookup.Stdout);
        var e = json.RootElement;
        Assert.Equal(
            (fx.Commit1, "file", expected.Checksum, expected.Size, 0x81A4),
            (e.GetProperty("commit").GetString(), e.GetProperty("type").GetString(), e.GetProperty("checksum").GetString(), e.GetProperty("size").GetInt64(), e.GetProperty("mode").GetInt32()));
    }

    [Fact]
    public void Lookup_Checksum_PrintsEveryCommitAndPathUsingIt()
    {
        var fx = Fixtures.SmallRepo;
        var map = BuildMap(fx.ArchiveRepo, "fixture/v1", "fixture/main");
        var hi = OstreeLs.List(fx.ArchiveRepo, "fixture/main").Single(l => l.Path == "/usr/bin/hi").Checksum;

        var text = CliRunner.Run("object-map", "lookup", map, hi);
        var onlyV1 = CliRunner.Run("object-map", "lookup", map, hi, "--commit", "fixture/v1", "--json");

        Assert.Equal((0, $"{fx.Commit2} /usr/bin/hi\n{fx.Commit1} /usr/bin/hi\n"), (text.ExitCode, text.Stdout.ReplaceLineEndings("\n")));
        Assert.Equal((0, $$"""[{"commit":"{{fx.Commit1}}","path":"/usr/bin/hi"}]"""), (onlyV1.ExitCode, onlyV1.Stdout.Trim()));
    }

    [Theory]
    [InlineData("/no/such/path", "/no/such/path: no such path in commit")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000", "no path uses this object")]
    public void Lookup_NothingFound_ExitsOneWithOneLine(string key, string message)
    {
        var map = BuildMap(Fixtures.SmallRepo.ArchiveRepo, "fixture/main");

        var result = CliRunner.Run("object-map", "lookup", map, key);

        Assert.Equal((1, ""), (result.ExitCode, result.Stdout));
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ostree-container: error: ", line);
        Assert.Contains(message, line);
    }

    [Fact]
    public void Lookup_UnknownCommit_ExitsOneNamingIt()
    {
        var map = BuildMap(Fixtures.SmallRepo.ArchiveRepo, "fixture/main");

        var result = CliRunner.Run("object-map", "lookup", map, "/", "--commit", "fixture/v1");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"ostree-container: error: commit 'fixture/v1' is not in object map {map}", result.Stderr.Trim());
    }

    [Fact]
    public void Build_MissingObject_ExitsOneNamingItAndWritesNothing()
    {
        var repo = Path.Combine(Fixtures.TempDirectory("cli-map-broken"), "repo");
        Peer.Check("cp", "-a", Fixtures.SmallRepo.ArchiveRepo, repo);
        var etc = OstreeLs.List(repo, "fixture/main").Single(l => l.Path == "/etc").Checksum;
        File.Delete(Path.Combine(repo, "objects", etc[..2], etc[2..] + ".dirtree"));
        var dir = Fixtures.TempDirectory("cli-map-out");

        var result = CliRunner.Run("object-map", "build", "--repo", repo, "--ref", "fixture/main", "--output", Path.Combine(dir, "map"));

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"ostree-container: error: commit {Fixtures.SmallRepo.Commit2}: /etc: dirtree {etc} is missing", line);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void Lookup_NotAnObjectMap_ExitsOneWithOneLine()
    {
        var junk = Path.Combine(Fixtures.TempDirectory("cli-map-junk"), "junk");
        File.WriteAllText(junk, "not sqlite");

        var result = CliRunner.Run("object-map", "lookup", junk, "/");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"ostree-container: error: {junk}: not an object map", result.Stderr);
    }

    [Fact]
    public void Lookup_EtcPathOfACommitWithUsrEtc_ShowsTheUsrEtcEntryWithANote()
    {
        var tree = Fixtures.TempDirectory("cli-map-usretc-tree");
        Directory.CreateDirectory(Path.Combine(tree, "usr", "etc"));
        File.WriteAllText(Path.Combine(tree, "usr", "etc", "os-release"), "NAME=\"ExampleOS\"\n");
        var repo = Path.Combine(Fixtures.TempDirectory("cli-map-usretc"), "repo");
        Assert.Equal(0, CliRunner.Run("init", "--repo", repo, "--mode", "archive").ExitCode);
        Assert.Equal(0, CliRunner.Run("commit", "--repo", repo, "-b", "os", "--owner-uid=0", "--owner-gid=0", "--no-xattrs", "--timestamp=@0", tree).ExitCode);
        var map = BuildMap(repo, "os");

        var etc = CliRunner.Run("object-map", "lookup", map, "/etc/os-release");
        var usrEtc = CliRunner.Run("object-map", "lookup", map, "/usr/etc/os-release");
        var missing = CliRunner.Run("object-map", "lookup", map, "/etc/missing");

        Assert.Equal((0, usrEtc.Stdout), (etc.ExitCode, etc.Stdout));
        Assert.EndsWith(" /usr/etc/os-release", etc.Stdout.Trim(), StringComparison.Ordinal);
        Assert.Contains("ostree-container: note: the commit keeps /etc as /usr/etc", etc.Stderr, StringComparison.Ordinal);
        Assert.Equal("", usrEtc.Stderr);
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("ostree-container: error: /etc/missing: no such path in commit", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Lookup_EtcPathOfACommitWithEtc_IsNotRedirected()
    {
        // The small fixture keeps /etc at /etc: a missing file there is simply missing.
        var map = BuildMap(Fixtures.SmallRepo.ArchiveRepo, "fixture/main");

        var result = CliRunner.Run("object-map", "lookup", map, "/etc/os-release");

        Assert.Equal((1, ""), (result.ExitCode, result.Stdout));
        Assert.StartsWith("ostree-container: error: /etc/os-release: no such path in commit", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/etc", "/usr/etc")]
    [InlineData("etc/os-release", "/usr/etc/os-release")]
    [InlineData("/etc/ssh/sshd_config", "/usr/etc/ssh/sshd_config")]
    [InlineData("/etcetera", null)]
    [InlineData("/usr/etc/os-release", null)]
    public void UsrEtc_Paths_MapOnlyUnderEtc(string path, string? expected) =>
        Assert.Equal(expected, OstreeContainer.Cli.Commands.ObjectMapCommand.UsrEtc(path));

    private static string BuildMap(string repo, params string[] refs)
    {
        var map = Path.Combine(Fixtures.TempDirectory("cli-map"), "object-map");
        var args = new List<string> { "object-map", "build", "--repo", repo, "--output", map };
        foreach (var r in refs)
        {
            args.AddRange(["--ref", r]);
        }

        Assert.Equal(0, CliRunner.Run([.. args]).ExitCode);
        return map;
    }

    private static string Squeeze(string text) => string.Join(' ', text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries));
}
