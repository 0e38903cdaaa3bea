namespace OstreeContainer.Cli.Tests.Commands;

public class CommitCommandTests
{
    [Fact]
    public void InitCommitFsckShow_FixtureTree_MatchesOstree()
    {
        var fx = Fixtures.SmallRepo;
        var repo = Path.Combine(Fixtures.TempDirectory("cli"), "repo");

        var init = CliRunner.Run("init", "--repo", repo, "--mode", "archive");
        var commit = CliRunner.Run("commit", "--repo", repo, "--branch=fixture/v1", "--owner-uid=0", "--owner-gid=0", "--no-xattrs",
            "--subject=fixture commit 1", "--body=first body", "--timestamp=2024-01-01 00:00:00 +0000",
            "--add-detached-metadata-string=fixture.note=detached-hello", $"--tree=dir={fx.Tree("tree")}");
        var fsck = CliRunner.Run("fsck", "--repo", repo);
        var show = CliRunner.Run("show", "--repo", repo, "fixture/v1");

        Assert.Equal(0, init.ExitCode);
        Assert.Equal((0, fx.Commit1), (commit.ExitCode, commit.Stdout.Trim()));
        Assert.Equal(0, fsck.ExitCode);
        Assert.Contains("fsck: ok", fsck.Stdout);
        Assert.Contains($"commit {fx.Commit1}", show.Stdout);
        Assert.Contains("detached fixture.note: 'detached-hello'", show.Stdout);
        Assert.Contains("fixture commit 1", Peer.Ostree(repo, "show", "fixture/v1"));
        Peer.Ostree(repo, "fsck");
    }

    [Fact]
    public void Commit_TimestampAsUnixSeconds_MatchesOstreeCommit()
    {
        var fx = Fixtures.SmallRepo;
        var ours = Path.Combine(Fixtures.TempDirectory("cli-ts"), "repo");
        var theirs = Path.Combine(Fixtures.TempDirectory("cli-ts-peer"), "repo");
        CliRunner.Run("init", "--repo", ours);
        Peer.Check("ostree", "init", $"--repo={theirs}", "--mode=archive");

        var commit = CliRunner.Run("commit", "--repo", ours, "-b", "x", "-s", "subject", "--timestamp=@1700000000", fx.Tree("tree2"));
        var expected = Peer.Ostree(theirs, "commit", "-b", "x", "-s", "subject", "--timestamp=@1700000000", fx.Tree("tree2"));

        Assert.Equal(expected.Trim(), commit.Stdout.Trim());
    }

    [Theory]
    [InlineData("fsck", "--repo", "/nonexistent/repo")]
    [InlineData("show", "--repo", "/nonexistent/repo", "main")]
    [InlineData("commit", "--repo", "/nonexistent/repo", "--tree=dir=/tmp")]
    public void Verb_MissingRepo_PrintsOneLineErrorAndFails(params string[] args)
    {
        var result = CliRunner.Run(args);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ostree-container: error: /nonexistent/repo: not an OSTree repository", line);
    }

    [Fact]
    public void Commit_MissingTree_FailsWithoutWritingAnything()
    {
        var repo = Path.Combine(Fixtures.TempDirectory("cli-missing"), "repo");
        CliRunner.Run("init", "--repo", repo);

        var result = CliRunner.Run("commit", "--repo", repo, "-b", "main", "--tree=dir=/nonexistent/tree");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("/nonexistent/tree", result.Stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(repo, "objects")));
        Assert.False(File.Exists(Path.Combine(repo, "refs/heads/main")));
    }

    [Fact]
    public void Fsck_CorruptObject_ExitsNonZeroNamingTheObject()
    {
        var fx = Fixtures.SmallRepo;
        var repo = Path.Combine(Fixtures.TempDirectory("cli-corrupt"), "repo");
        Peer.Check("cp", "-a", fx.ArchiveRepo, repo);
        var victim = Path.Combine(repo, "objects/81/381808c56d4f3d643ec12f6a18fcf2993af8daba7c2a1b2cbfc315b39424c6.filez");
        var bytes = File.ReadAllBytes(victim);
        bytes[^2] ^= 0xff;
        File.WriteAllBytes(victim, bytes);

        var result = CliRunner.Run("fsck", "--repo", repo);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("81381808c56d4f3d643ec12f6a18fcf2993af8daba7c2a1b2cbfc315b39424c6", result.Stderr);
    }

    [Fact]
    public void Checkout_Commit_EqualsInputTree()
    {
        var fx = Fixtures.SmallRepo;
        var dest = Path.Combine(Fixtures.TempDirectory("cli-co"), "out");

        var result = CliRunner.Run("checkout", "--repo", fx.ArchiveRepo, "fixture/main", dest);

        Assert.Equal(0, result.ExitCode);
        Assert.Empty(TreeDiff.Compare(fx.Tree("tree2"), dest));
    }
}
