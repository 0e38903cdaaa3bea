using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Trees;

namespace OstreeContainer.Ostree.Tests.Trees;

/// <summary>Our commit of the fixture's input trees reproduces the checksums the real <c>ostree commit</c> wrote.</summary>
public class DirectoryCommitterTests
{
    private static readonly CommitOptions Fixed = new() { OwnerUid = 0, OwnerGid = 0, NoXattrs = true };

    public static TheoryData<RepoMode> WritableModes => [RepoMode.Archive, RepoMode.BareUser, RepoMode.Bare];

    [Theory]
    [MemberData(nameof(WritableModes))]
    public void Commit_FixtureTrees_ReproducesOstreeChecksums(RepoMode mode)
    {
        var fx = Fixtures.SmallRepo;
        var repo = OstreeRepo.Create(Fixtures.TempDirectory("commit"), mode);

        var c1 = DirectoryCommitter.Commit(repo, fx.Tree("tree"), Fixed with
        {
            Branch = "fixture/v1",
            Subject = "fixture commit 1",
            Body = "first body",
            Timestamp = 1704067200,
            DetachedMetadata = [new("fixture.note", Variant.FromString("detached-hello"))],
        });
        var c2 = DirectoryCommitter.Commit(repo, fx.Tree("tree2"), Fixed with
        {
            Branch = "fixture/main",
            Parent = c1.Commit,
            Subject = "fixture commit 2",
            Metadata = [new("version", Variant.FromString("2.0"))],
            Timestamp = 1704153600,
        });
        var wide = DirectoryCommitter.Commit(repo, fx.Tree("tree-wide"), Fixed with
        {
            Branch = "fixture/wide",
            Subject = "wide commit",
            Timestamp = 1704326400,
        });

        Assert.Equal(fx.Commit1, c1.Commit.ToString());
        Assert.Equal(fx.Commit2, c2.Commit.ToString());
        Assert.Equal(fx.CommitWide, wide.Commit.ToString());
        Assert.Equal(fx.Commit2, repo.ResolveRev("fixture/main").ToString());
        var detached = File.ReadAllBytes(repo.ObjectPath(c1.Commit, ObjectType.CommitMeta));
        Assert.Equal(File.ReadAllBytes(Path.Combine(fx.ArchiveRepo, "objects", fx.Commit1[..2], fx.Commit1[2..] + ".commitmeta")), detached);
        Assert.Contains("fixture/main", Peer.Ostree(repo.Root, "refs"));
        Peer.Ostree(repo.Root, "fsck");
    }

    [Fact]
    public void Commit_TreeWithXattrs_ReproducesOstreeChecksum()
    {
        var fx = Fixtures.SmallRepo;
        Assert.NotNull(fx.CommitXattr); // make-fixture-repo.sh needs setfattr (package attr) and user xattrs
        var repo = OstreeRepo.Create(Fixtures.TempDirectory("xattr"), RepoMode.Archive);

        var result = DirectoryCommitter.Commit(repo, fx.Tree("tree-xattr"), new CommitOptions
        {
            OwnerUid = 0,
            OwnerGid = 0,
            Branch = "fixture/xattr",
            Subject = "xattr commit",
            Timestamp = 1704240000,
        });

        Assert.Equal(fx.CommitXattr, result.Commit.ToString());
        Peer.Ostree(repo.Root, "fsck");
    }

    [Fact]
    public void Commit_ArchiveRepo_OstreeChecksOutTheInputTreeAndPullsItLocally()
    {
        var fx = Fixtures.SmallRepo;
        var repo = OstreeRepo.Create(Fixtures.TempDirectory("co"), RepoMode.Archive);
        var result = DirectoryCommitter.Commit(repo, fx.Tree("tree2"), Fixed with { Branch = "test/main", Timestamp = 1 });
        var checkout = Path.Combine(Fixtures.TempDirectory("co-out"), "tree");

        Peer.Ostree(repo.Root, "checkout", "test/main", checkout);
        var pulled = Fixtures.TempDirectory("pulled");
        Peer.Check("ostree", "init", $"--repo={pulled}", "--mode=bare-user");
        Peer.Ostree(pulled, "pull-local", repo.Root, "test/main");
        Peer.Ostree(pulled, "fsck");

        Assert.Empty(TreeDiff.Compare(fx.Tree("tree2"), checkout));
        Assert.Equal(result.Commit.ToString(), Peer.Ostree(pulled, "rev-parse", "test/main").Trim());
    }

    [Fact]
    public void Commit_BareUserRepo_PassesOstreeFsckAndChecksOut()
    {
        var fx = Fixtures.SmallRepo;
        var repo = OstreeRepo.Create(Fixtures.TempDirectory("bu"), RepoMode.BareUser);
        DirectoryCommitter.Commit(repo, fx.Tree("tree"), Fixed with { Branch = "b", Timestamp = 1 });
        var checkout = Path.Combine(Fixtures.TempDirectory("bu-out"), "tree");

        Peer.Ostree(repo.Root, "fsck");
        Peer.Ostree(repo.Root, "checkout", "-U", "b", checkout);

        Assert.Empty(TreeDiff.Compare(fx.Tree("tree"), checkout));
    }

    [Fact]
    public void Commit_WithoutOwnerOverride_RecordsRealOwnershipLikeOstree()
    {
        var fx = Fixtures.SmallRepo;
        var ours = OstreeRepo.Create(Fixtures.TempDirectory("own"), RepoMode.Archive);
        var theirs = Fixtures.TempDirectory("own-peer");
        Peer.Check("ostree", "init", $"--repo={theirs}", "--mode=archive");

        var result = DirectoryCommitter.Commit(ours, fx.Tree("tree2"), new CommitOptions { Branch = "x", Subject = "s", Timestamp = 42, Metadata = [new("k", Variant.FromString("v"))] });
        var expected = Peer.Ostree(theirs, "commit", "--branch=x", "--subject=s", "--timestamp=@42", "--add-metadata-string=k=v", $"--tree=dir={fx.Tree("tree2")}").Trim();

        Assert.Equal(expected, result.Commit.ToString());
    }

    [Fact]
    public void Commit_ManyFilesOnManyThreads_StagesEveryObject()
    {
        // Regression: two threads staging into the same new objects/XX directory raced
        // (one wrote before the other had created it). Many small distinct files and more
        // threads than cores make that window likely.
        var tree = Fixtures.TempDirectory("many");
        for (var i = 0; i < 3000; i++)
        {
            File.WriteAllText(Path.Combine(tree, $"f{i}"), $"content {i}\n");
        }

        for (var run = 0; run < 4; run++)
        {
            var repo = OstreeRepo.Create(Fixtures.TempDirectory("many-repo"), RepoMode.Archive);

            var result = DirectoryCommitter.Commit(repo, tree, Fixed with { Branch = "m", Timestamp = 1, Parallelism = 16 });

            Assert.Equal(3000, result.Files);
            Assert.Empty(RepoFsck.Run(repo).Problems);
        }
    }

    [Fact]
    public void Commit_FifoInTree_FailsNamingThePathAndLeavesRepoUnchanged()
    {
        var tree = Fixtures.TempDirectory("fifo");
        File.WriteAllText(Path.Combine(tree, "ok"), "x");
        Peer.Check("mkfifo", Path.Combine(tree, "pipe"));
        var repo = OstreeRepo.Create(Fixtures.TempDirectory("fifo-repo"), RepoMode.Archive);

        var e = Assert.Throws<InvalidDataException>(() => DirectoryCommitter.Commit(repo, tree, Fixed with { Branch = "b" }));

        Assert.Contains("pipe", e.Message);
        Assert.Empty(repo.EnumerateObjects());
        Assert.Empty(repo.ListRefs());
    }
}
