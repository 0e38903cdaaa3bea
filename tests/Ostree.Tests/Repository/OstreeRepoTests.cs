using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Trees;

namespace OstreeContainer.Ostree.Tests.Repository;

public class OstreeRepoTests
{
    [Fact]
    public void Open_FixtureRepos_ReportModesAndRefsLikeOstree()
    {
        var fx = Fixtures.SmallRepo;
        var archive = OstreeRepo.Open(fx.ArchiveRepo);
        var bareUser = OstreeRepo.Open(fx.BareUserRepo);

        Assert.Equal(RepoMode.Archive, archive.Mode);
        Assert.Equal(RepoMode.BareUser, bareUser.Mode);
        var ours = archive.ListRefs().Select(r => r.Key.ToString()).ToArray();
        var theirs = Peer.Ostree(fx.ArchiveRepo, "refs").Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(theirs, ours);
        Assert.Equal(fx.Commit2, archive.ResolveRev("fixture/main").ToString());
    }

    [Fact]
    public void OpenContent_BareUserFixture_EveryObjectHashesToItsName()
    {
        var repo = OstreeRepo.Open(Fixtures.SmallRepo.BareUserRepo);
        var files = repo.EnumerateObjects().Where(o => o.Type == ObjectType.File).ToList();

        foreach (var (checksum, _) in files)
        {
            using var content = repo.OpenContent(checksum);
            using var buffer = new MemoryStream();
            content.Content.CopyTo(buffer);
            Assert.Equal(checksum, content.Header.ComputeChecksum(buffer.ToArray()));
        }

        Assert.True(files.Count >= 6);
    }

    [Theory]
    [InlineData("archive")]
    [InlineData("bare-user")]
    public void ReadContentHeader_EveryFixtureObject_EqualsOpenContentWithoutReadingContent(string mode)
    {
        var repo = OstreeRepo.Open(mode == "archive" ? Fixtures.SmallRepo.ArchiveRepo : Fixtures.SmallRepo.BareUserRepo);
        var files = repo.EnumerateObjects().Where(o => o.Type == ObjectType.File).ToList();

        foreach (var (checksum, _) in files)
        {
            var (header, size) = repo.ReadContentHeader(checksum);
            using var content = repo.OpenContent(checksum);
            Assert.Equal(content.Header with { Xattrs = [] }, header with { Xattrs = [] });
            Assert.True(Xattr.SequenceEqual(content.Header.Xattrs, header.Xattrs));
            Assert.Equal(content.Size, size);
            Assert.Equal(checksum, header.ComputeChecksum(ReadAll(content.Content)));
        }

        Assert.True(files.Count >= 6);
    }

    [Fact]
    public void ReadContentHeader_HeaderLargerThanFirstRead_ReadsAllXattrs()
    {
        var dir = Fixtures.TempDirectory("big-xattr");
        var tree = Directory.CreateDirectory(Path.Combine(dir, "tree")).FullName;
        var repoPath = Path.Combine(dir, "repo");
        File.WriteAllText(Path.Combine(tree, "file"), "content\n");
        var value = new string('v', 3000);
        Assert.SkipUnless(Peer.Run("setfattr", ["-n", "user.big", "-v", value, Path.Combine(tree, "file")]).ExitCode == 0, "user xattrs unsupported here");
        Peer.Check("ostree", "init", $"--repo={repoPath}", "--mode=archive");
        Peer.Ostree(repoPath, "commit", "-b", "x", "--owner-uid=0", "--owner-gid=0", tree);
        var repo = OpenWithFile(repoPath, out var file);

        var (header, size) = repo.ReadContentHeader(file);

        Assert.Equal(8, size);
        Assert.Equal(value, System.Text.Encoding.ASCII.GetString(Assert.Single(header.Xattrs, x => x.Name == "user.big").Value));
        Assert.Equal(file, header.ComputeChecksum("content\n"u8));
    }

    [Fact]
    public void ReadContentHeader_TruncatedOrMissingFilez_ThrowsNamingTheObject()
    {
        var copy = Fixtures.TempDirectory("header");
        Peer.Check("cp", "-a", Fixtures.SmallRepo.ArchiveRepo + "/.", copy);
        var repo = OpenWithFile(copy, out var file);
        var path = repo.ObjectPath(file, ObjectType.File);
        var missing = Checksum.Compute("not in the repo"u8);

        File.WriteAllBytes(path, File.ReadAllBytes(path)[..6]);

        var truncated = Assert.Throws<InvalidDataException>(() => repo.ReadContentHeader(file));
        Assert.StartsWith($"file {file}: header:", truncated.Message);
        var absent = Assert.Throws<FileNotFoundException>(() => repo.ReadContentHeader(missing));
        Assert.Contains(missing.ToString(), absent.Message);
    }

    [Fact]
    public void Fsck_FixtureAndOsRepos_AreClean()
    {
        var small = RepoFsck.Run(OstreeRepo.Open(Fixtures.SmallRepo.ArchiveRepo));
        var bareUser = RepoFsck.Run(OstreeRepo.Open(Fixtures.SmallRepo.BareUserRepo));
        var os = RepoFsck.Run(OstreeRepo.Open(Fixtures.OsRepo.Repo));

        Assert.Empty(small.Problems);
        Assert.Empty(bareUser.Problems);
        Assert.Empty(os.Problems);
        Assert.Equal(2, os.Commits);
        Assert.True(os.Files > 5000, $"{os.Files} files");
    }

    [Fact]
    public void BareRepo_MadeByOstree_FscksCleanAndChecksOutLikeOstree()
    {
        // bare mode stores real ownership, so ostree (and this test) must run as root.
        Assert.True(Ostree.Posix.FileSystem.IsRoot, "bare repositories need root: run the tests as root");
        var fx = Fixtures.SmallRepo;
        var bare = Fixtures.TempDirectory("bare");
        Peer.Check("ostree", "init", $"--repo={bare}", "--mode=bare");
        Peer.Ostree(bare, "pull-local", fx.ArchiveRepo, "fixture/main", "fixture/xattr");
        var repo = OstreeRepo.Open(bare);
        var ours = Path.Combine(Fixtures.TempDirectory("bare-ours"), "t");
        var theirs = Path.Combine(Fixtures.TempDirectory("bare-theirs"), "t");

        var report = RepoFsck.Run(repo);
        TreeCheckout.Checkout(repo, repo.ResolveRev("fixture/main"), ours);
        Peer.Ostree(fx.ArchiveRepo, "checkout", "fixture/main", theirs);

        Assert.Equal(RepoMode.Bare, repo.Mode);
        Assert.Empty(report.Problems);
        Assert.Equal(2, report.Commits);
        Assert.Empty(TreeDiff.Compare(theirs, ours, ownership: true));
        using var xattrFile = repo.OpenContent(Checksum.Parse("bc5855ae4c4d4e7df33f5c8ae12b9688b0f000f1ef42e7d78956c43e453069bf"));
        Assert.Equal("user.fixture", Assert.Single(xattrFile.Header.Xattrs).Name);
    }

    [Fact]
    public void Fsck_CorruptAndMissingObjects_AreEachReportedByName()
    {
        var copy = Fixtures.TempDirectory("fsck");
        Peer.Check("cp", "-a", Fixtures.SmallRepo.ArchiveRepo + "/.", copy);
        var repo = OstreeRepo.Open(copy);
        var hello = Checksum.Parse("81381808c56d4f3d643ec12f6a18fcf2993af8daba7c2a1b2cbfc315b39424c6");
        var readme = Checksum.Parse("7875c3606cb9c5160c9de8c656bd65295495f3bc1efe4bee9d2789cd183c2ffb");
        var docTree = Checksum.Parse("409460327abbb706d385b5287f000acee47fdce748a84dd1ce094b2e3343f928");
        var path = repo.ObjectPath(hello, ObjectType.File);
        var bytes = File.ReadAllBytes(path);
        bytes[^3] ^= 0x20;
        File.WriteAllBytes(path, bytes);
        File.Delete(repo.ObjectPath(readme, ObjectType.File));
        var tree = File.ReadAllBytes(repo.ObjectPath(docTree, ObjectType.DirTree));
        tree[0] ^= 1;
        File.WriteAllBytes(repo.ObjectPath(docTree, ObjectType.DirTree), tree);

        var report = RepoFsck.Run(repo);
        var ostree = Peer.Run("ostree", [$"--repo={copy}", "fsck"]);

        Assert.NotEqual(0, ostree.ExitCode);
        Assert.Contains(report.Problems, p => p.Checksum == hello && p.Type == ObjectType.File);
        Assert.Contains(report.Problems, p => p.Checksum == docTree && p.Type == ObjectType.DirTree);
        // README is only reachable through the corrupt dirtree in commit 1, but commit 2 shares it.
        Assert.Contains(report.Problems, p => p.Checksum == readme || p.Checksum == docTree);
    }

    [Fact]
    public void Transaction_DisposedWithoutCommit_LeavesNothingVisible()
    {
        var repo = OstreeRepo.Create(Fixtures.TempDirectory("abort"), RepoMode.Archive);
        using (var tx = repo.BeginTransaction())
        {
            tx.WriteContent(FileHeader.Regular(0, 0, 0x1A4), "data"u8);
            tx.WriteMetadata(ObjectType.DirTree, DirTree.Empty.Serialize());
            tx.SetRef(RefName.Head("x"), DirTree.Empty.ComputeChecksum());
        }

        Assert.Empty(repo.EnumerateObjects());
        Assert.Empty(repo.ListRefs());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(repo.Root, "tmp"), "staging-*"));
    }

    [Fact]
    public void WriteMetadata_WrongChecksum_IsRejectedAndNotStaged()
    {
        var repo = OstreeRepo.Create(Fixtures.TempDirectory("wrong"), RepoMode.Archive);
        using var tx = repo.BeginTransaction();

        var e = Assert.Throws<InvalidDataException>(() => tx.WriteMetadata(ObjectType.DirTree, Checksum.Compute("x"u8), DirTree.Empty.Serialize()));

        Assert.Contains("hashes to", e.Message);
        Assert.Equal(0, tx.StagedCount);
    }

    [Fact]
    public void Checkout_OstreeWrittenCommit_EqualsOstreeCheckout()
    {
        var fx = Fixtures.SmallRepo;
        var ours = Path.Combine(Fixtures.TempDirectory("ours"), "t");
        var theirs = Path.Combine(Fixtures.TempDirectory("theirs"), "t");

        TreeCheckout.Checkout(OstreeRepo.Open(fx.ArchiveRepo), Checksum.Parse(fx.Commit2), ours);
        Peer.Ostree(fx.ArchiveRepo, "checkout", fx.Commit2, theirs);

        Assert.Empty(TreeDiff.Compare(theirs, ours, ownership: true));
        Assert.Empty(TreeDiff.Compare(fx.Tree("tree2"), ours));
    }

    [Fact]
    public void Checkout_OsRepoFromBothCommits_EqualsOstreeCheckout()
    {
        var os = Fixtures.OsRepo;
        var ours = Path.Combine(Fixtures.TempDirectory("os-ours"), "t");
        var theirs = Path.Combine(Fixtures.TempDirectory("os-theirs"), "t");

        TreeCheckout.Checkout(OstreeRepo.Open(os.Repo), Checksum.Parse(os.Commit2), ours);
        Peer.Ostree(os.Repo, "checkout", os.Commit2, theirs);

        Assert.Empty(TreeDiff.Compare(theirs, ours, ownership: true));
        Directory.Delete(Path.GetDirectoryName(ours)!, true);
        Directory.Delete(Path.GetDirectoryName(theirs)!, true);
    }

    [Theory]
    [InlineData("/a/link", "/etc/passwd", true)]
    [InlineData("/a/link", "../../etc", true)]
    [InlineData("/a/b/link", "../x", false)]
    [InlineData("/link", "./x/../y", false)]
    [InlineData("/link", "..", true)]
    public void Escapes_SymlinkTargets_AreJudgedRelativeToTheCheckoutRoot(string relative, string target, bool escapes) =>
        Assert.Equal(escapes, TreeCheckout.Escapes(relative, target));

    [Fact]
    public void Checkout_ConfinedWithEscapingSymlink_FailsWithFormatError()
    {
        var tree = Fixtures.TempDirectory("esc");
        File.CreateSymbolicLink(Path.Combine(tree, "evil"), "../../../etc/shadow");
        var repo = OstreeRepo.Create(Fixtures.TempDirectory("esc-repo"), RepoMode.Archive);
        var commit = DirectoryCommitter.Commit(repo, tree, new CommitOptions { Branch = "e", OwnerUid = 0, OwnerGid = 0, NoXattrs = true }).Commit;

        var e = Assert.Throws<InvalidDataException>(() =>
            TreeCheckout.Checkout(repo, commit, Path.Combine(Fixtures.TempDirectory("esc-out"), "t"), new CheckoutOptions { ConfineSymlinks = true }));

        Assert.Contains("evil", e.Message);
    }

    [Fact]
    public void Checkout_IntoNonEmptyDirectory_IsRefused()
    {
        var fx = Fixtures.SmallRepo;
        var dest = Fixtures.TempDirectory("nonempty");
        File.WriteAllText(Path.Combine(dest, "x"), "keep");

        Assert.Throws<IOException>(() => TreeCheckout.Checkout(OstreeRepo.Open(fx.ArchiveRepo), Checksum.Parse(fx.Commit1), dest));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(dest, "x")));
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>The repo and one of its content objects.</summary>
    private static OstreeRepo OpenWithFile(string path, out Checksum file)
    {
        var repo = OstreeRepo.Open(path);
        file = repo.EnumerateObjects().First(o => o.Type == ObjectType.File).Checksum;
        return repo;
    }
}
