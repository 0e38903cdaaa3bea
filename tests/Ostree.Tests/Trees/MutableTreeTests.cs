using System.Text;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Trees;

namespace OstreeContainer.Ostree.Tests.Trees;

/// <summary>
/// Edits on the small fixture's commit give the dirtree and dirmeta checksums the real
/// <c>ostree commit</c> gives for the same edits made on the input directory.
/// </summary>
public class MutableTreeTests
{
    private static readonly DirMeta Dir0755 = new(0, 0, StatMode.Directory | 0x1ED, []);

    public static TheoryData<RepoMode> WritableModes => [RepoMode.Archive, RepoMode.BareUser, RepoMode.Bare];

    [Theory]
    [MemberData(nameof(WritableModes))]
    public void Edits_OnFixtureCommit_GiveOstreeCommitChecksums(RepoMode mode)
    {
        var (repo, dir) = Scratch(mode);
        var tree = MutableTree.FromCommit(repo, Checksum.Parse(Fixtures.SmallRepo.Commit1));

        using var tx = repo.BeginTransaction();
        // Change a file, add an executable, remove a whole directory, add a directory with
        // its own mode, change a directory's mode, replace a file by a directory and a
        // directory by a symlink.
        tree.SetFile("etc/hello.txt", File(tx, dir, "etc/hello.txt", "changed\n", 0x1A4));
        tree.SetFile("usr/bin/new", File(tx, dir, "usr/bin/new", "#!/bin/sh\n", 0x1ED));
        Assert.True(tree.Remove("usr/share/doc"));
        Directory.Delete(Path.Combine(dir, "usr/share/doc"), recursive: true);
        tree.SetDirectory("opt", Meta(dir, "opt", 0x1C0), implicitParents: null);
        tree.SetFile("opt/tool/bin/x", File(tx, dir, "opt/tool/bin/x", "x", 0x1ED), Dir0755);
        Meta(dir, "opt/tool", 0x1ED);
        Meta(dir, "opt/tool/bin", 0x1ED);
        tree.SetDirectory("usr/bin", Meta(dir, "usr/bin", 0x1C9));
        System.IO.File.Delete(Path.Combine(dir, "etc/empty"));
        tree.SetDirectory("etc/empty", Meta(dir, "etc/empty", 0x1ED));
        Directory.Delete(Path.Combine(dir, "var/empty-dir"));
        System.IO.File.CreateSymbolicLink(Path.Combine(dir, "var/empty-dir"), "../usr");
        tree.SetFile("var/empty-dir", tx.WriteContent(FileHeader.Symlink(0, 0, "../usr"), ReadOnlySpan<byte>.Empty));

        var written = tree.Write(tx);

        Assert.Equal(OstreeCommitOf(dir), written);
        Assert.Equal(MutableTreeEntryKind.Directory, tree.Lookup("etc/empty"));
        Assert.Equal(MutableTreeEntryKind.File, tree.Lookup("var/empty-dir"));
        Assert.Equal(MutableTreeEntryKind.None, tree.Lookup("usr/share/doc/fixture"));
        Assert.Null(tree.FindFile("usr/bin"));
        Assert.Equal(0x41C9u, tree.FindDirectoryMeta("usr/bin")!.Mode);
        CommitAndFsck(repo, tx, written);
    }

    [Fact]
    public void Write_OneFileChanged_WritesOnlyTheDirtreesOnItsPathAndNeverReadsOtherSubtrees()
    {
        var (repo, dir) = Scratch(RepoMode.Archive);
        var commit = repo.ReadCommit(Checksum.Parse(Fixtures.SmallRepo.Commit1));
        // Delete every object below usr: a tree that read them would fail.
        var root = repo.ReadDirTree(commit.RootTree);
        var usr = root.Directories.Single(d => d.Name == "usr");
        var deleted = DeleteSubtree(repo, usr.TreeChecksum);
        Assert.True(deleted >= 4);
        var tree = MutableTree.FromCommit(repo, commit.ComputeChecksum());

        using var tx = repo.BeginTransaction();
        tree.SetFile("etc/hello.txt", File(tx, dir, "etc/hello.txt", "only this\n", 0x1A4));
        var written = tree.Write(tx);

        // One new content object, the dirtrees of etc and of the root; no dirmeta.
        Assert.Equal(3, tx.StagedCount);
        Assert.Equal(OstreeCommitOf(dir), written);
        Assert.Equal(commit.RootMeta, written.Meta);
    }

    [Fact]
    public void Write_Repeatedly_WritesOnlyWhatChangedSinceTheLastWrite()
    {
        var (repo, dir) = Scratch(RepoMode.BareUser);
        var tree = MutableTree.FromCommit(repo, Checksum.Parse(Fixtures.SmallRepo.Commit1));
        using var tx = repo.BeginTransaction();

        tree.SetFile("usr/share/doc/fixture/NEWS", File(tx, dir, "usr/share/doc/fixture/NEWS", "news\n", 0x1A4));
        var first = tree.Write(tx);
        Assert.Equal(OstreeCommitOf(dir), first);
        var staged = tx.StagedCount;

        // Nothing changed: nothing more is written.
        Assert.Equal(first, tree.Write(tx));
        Assert.Equal(staged, tx.StagedCount);

        // A later edit dirties its path again, and only it.
        tree.SetFile("usr/share/doc/fixture/NEWS", File(tx, dir, "usr/share/doc/fixture/NEWS", "more news\n", 0x1A4));
        Assert.True(tree.Remove("etc/empty"));
        System.IO.File.Delete(Path.Combine(dir, "etc/empty"));
        var second = tree.Write(tx);
        Assert.Equal(OstreeCommitOf(dir), second);
        // content + fixture, doc, share, usr, etc, root dirtrees
        Assert.Equal(staged + 7, tx.StagedCount);
        CommitAndFsck(repo, tx, second);
    }

    [Fact]
    public void Empty_WithFilesAndDirectories_GivesOstreeCommitChecksums()
    {
        var (repo, _) = Scratch(RepoMode.Archive);
        var dir = Fixtures.TempDirectory("mt-empty");
        System.IO.File.SetUnixFileMode(dir, (UnixFileMode)0x1ED);
        var tree = MutableTree.Empty(Dir0755);
        using var tx = repo.BeginTransaction();
        // Names that sort differently byte-wise and by UTF-16, and a file/dir pair.
        foreach (var name in new[] { "b", "a.txt", "A", "\uE000x", "\U0001F600y", "a" })
        {
            tree.SetFile($"d/{name}", File(tx, dir, $"d/{name}", name, 0x1A4), Dir0755);
        }

        Directory.CreateDirectory(Path.Combine(dir, "a-dir/sub"));
        System.IO.File.SetUnixFileMode(Path.Combine(dir, "a-dir"), (UnixFileMode)0x1ED);
        System.IO.File.SetUnixFileMode(Path.Combine(dir, "a-dir/sub"), (UnixFileMode)0x1ED);
        tree.SetDirectory("a-dir/sub", Dir0755, Dir0755);
        System.IO.File.SetUnixFileMode(Path.Combine(dir, "d"), (UnixFileMode)0x1ED);

        var written = tree.Write(tx);

        Assert.Equal(OstreeCommitOf(dir), written);
        Assert.Equal(["A", "a", "a.txt", "b", "\uE000x", "\U0001F600y"], tree.ListNames("d"));
        CommitAndFsck(repo, tx, written);
    }

    [Fact]
    public void Edits_ThroughAFileOrMissingParent_AreRefused()
    {
        var (repo, _) = Scratch(RepoMode.Archive);
        var tree = MutableTree.FromCommit(repo, Checksum.Parse(Fixtures.SmallRepo.Commit1));
        var some = Checksum.Parse(Fixtures.SmallRepo.Commit1);

        var throughFile = Assert.Throws<InvalidDataException>(() => tree.SetFile("usr/bin/hello-link/x", some, Dir0755));
        Assert.Contains("'usr/bin/hello-link' is a file or symlink", throughFile.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<InvalidDataException>(() => tree.SetDirectory("nope/x", Dir0755));
        Assert.Contains("'nope' does not exist", missing.Message, StringComparison.Ordinal);
        Assert.False(tree.Remove("usr/bin/hello-link/x"));
        Assert.False(tree.Remove("nope"));
        Assert.Equal(MutableTreeEntryKind.None, tree.Lookup("usr/bin/hello-link/x"));
        Assert.Equal(0, tree.ClearDirectory("usr/bin/hi", _ => false));
        Assert.Equal("usr/bin/hello-link", tree.FindFileAncestor("usr/bin/hello-link/x/y"));
        Assert.Null(tree.FindFileAncestor("usr/bin/hello-link"));
        Assert.Null(tree.FindFileAncestor("usr/nope/hello-link/x"));
    }

    [Fact]
    public void ClearDirectory_KeepsTheNamedChildren()
    {
        var (repo, dir) = Scratch(RepoMode.Archive);
        var tree = MutableTree.FromCommit(repo, Checksum.Parse(Fixtures.SmallRepo.Commit1));
        using var tx = repo.BeginTransaction();

        Assert.Equal(1, tree.ClearDirectory("usr", name => name == "bin"));
        Directory.Delete(Path.Combine(dir, "usr/share"), recursive: true);

        Assert.Equal(["bin"], tree.ListNames("usr"));
        Assert.Equal(OstreeCommitOf(dir), tree.Write(tx));
    }

    [Fact]
    public void FromCommit_MissingCommit_IsInvalidData()
    {
        var (repo, _) = Scratch(RepoMode.Archive);
        var e = Assert.Throws<InvalidDataException>(() => MutableTree.FromCommit(repo, Checksum.Compute("nope"u8)));
        Assert.Contains("is missing", e.Message, StringComparison.Ordinal);
    }

    // A fresh repo holding the fixture's commit 1 (pulled by the real ostree), and a copy of
    // its input tree to edit alongside.
    private static (OstreeRepo Repo, string Dir) Scratch(RepoMode mode)
    {
        var fx = Fixtures.SmallRepo;
        var repo = OstreeRepo.Create(Fixtures.TempDirectory("mt-repo"), mode);
        Peer.Ostree(repo.Root, "pull-local", fx.ArchiveRepo, fx.Commit1);
        var dir = Path.Combine(Fixtures.TempDirectory("mt-dir"), "tree");
        Peer.Check("cp", "-a", fx.Tree("tree"), dir);
        return (repo, dir);
    }

    private static Checksum File(RepoTransaction tx, string dir, string path, string content, uint mode)
    {
        var full = Path.Combine(dir, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
        System.IO.File.SetUnixFileMode(full, (UnixFileMode)mode);
        return tx.WriteContent(FileHeader.Regular(0, 0, mode), Encoding.UTF8.GetBytes(content));
    }

    private static DirMeta Meta(string dir, string path, uint mode)
    {
        var full = Path.Combine(dir, path);
        Directory.CreateDirectory(full);
        System.IO.File.SetUnixFileMode(full, (UnixFileMode)mode);
        return new DirMeta(0, 0, StatMode.Directory | mode, []);
    }

    // The root dirtree and dirmeta the real `ostree commit` gives the directory.
    private static (Checksum Tree, Checksum Meta) OstreeCommitOf(string dir)
    {
        var oracle = Fixtures.TempDirectory("mt-oracle");
        Peer.Ostree(oracle, "init", "--mode=archive");
        var commit = Peer.Ostree(oracle, "commit", "--orphan", "--owner-uid=0", "--owner-gid=0", "--no-xattrs", $"--tree=dir={dir}").Trim();
        var c = OstreeRepo.Open(oracle).ReadCommit(Checksum.Parse(commit));
        return (c.RootTree, c.RootMeta);
    }

    private static void CommitAndFsck(OstreeRepo repo, RepoTransaction tx, (Checksum Tree, Checksum Meta) root)
    {
        var commit = new Commit(new VariantDictionary(), null, [], "edited", "", 1, root.Tree, root.Meta);
        var checksum = tx.WriteMetadata(ObjectType.Commit, commit.Serialize());
        tx.SetRef(RefName.Parse("test/edited"), checksum);
        tx.Commit();
        Peer.Ostree(repo.Root, "fsck");
    }

    private static int DeleteSubtree(OstreeRepo repo, Checksum dirtree)
    {
        var count = 1;
        var tree = repo.ReadDirTree(dirtree);
        foreach (var d in tree.Directories)
        {
            count += DeleteSubtree(repo, d.TreeChecksum);
        }

        System.IO.File.Delete(repo.ObjectPath(dirtree, ObjectType.DirTree));
        return count;
    }
}
