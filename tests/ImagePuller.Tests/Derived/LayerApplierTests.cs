using System.Formats.Tar;
using OstreeContainer.ImagePuller.Derived;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Trees;
using static OstreeContainer.ImagePuller.Tests.Derived.LayerApply;

namespace OstreeContainer.ImagePuller.Tests.Derived;

/// <summary>
/// Layers applied onto empty trees and onto the small fixture's commit give the trees the
/// real <c>ostree</c> makes of the same content (<c>ostree commit --tree=tar=</c> of the
/// flattened result, or <c>--tree=dir=</c> of the edited checkout), and repos that
/// <c>ostree fsck</c> accepts, in archive, bare-user and bare repos.
/// </summary>
public class LayerApplierTests
{
    public static TheoryData<RepoMode> WritableModes => [RepoMode.Archive, RepoMode.BareUser, RepoMode.Bare];

    // Owners, setuid/setgid/sticky, xattrs out of order, a symlink, a hard link, an empty
    // file, a 9 MiB file (streamed through a temp file) and a uid beyond 21 bits (PAX).
    private static byte[] PlainLayer() => new TestLayer()
        .Dir("")
        .Dir("usr")
        .Dir("usr/bin")
        .File("usr/bin/tool", "#!/bin/sh\necho tool\n", mode: 0x9ED) // 04755
        .Hardlink("usr/bin/tool-again", "usr/bin/tool")
        .Symlink("usr/bin/sh", "bash")
        .Dir("usr/lib")
        .File("usr/lib/big.bin", BigContent(), mode: 0x1A4)
        .Dir("usr/lib/x", mode: 0x5ED, xattrs: ("user.dir", "d")) // 02755
        .File("usr/lib/x/cap", "capable", mode: 0x1E8, uid: 1000, gid: 1001, xattrs: [("user.b", "2"), ("user.a", "1")]) // 0750
        .Dir("usr/share")
        .File("usr/share/empty", "")
        .Dir("var", mode: 0x1ED)
        .Dir("var/shared", mode: 0x3FF) // 01777
        .Dir("opt", mode: 0x1C0) // 0700
        .Dir("opt/app")
        .File("opt/app/run.sh", "run", mode: 0x1ED, uid: 40000000, gid: 40000001)
        .Bytes();

    // Deterministic, compressible, 9 MiB: above the transaction's in-memory limit.
    private static byte[] BigContent()
    {
        var data = new byte[9 << 20];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)((i * 7) ^ (i >> 12));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WritableModes))]
    public void Apply_TarWithoutWhiteoutsOrEtc_GivesTheTreeOfOstreeCommitOfTheTar(RepoMode mode)
    {
        var tar = PlainLayer();
        var repo = NewRepo(mode);

        var (commit, root, applier) = Commit(repo, MutableTree.Empty(Root0755), [tar]);

        Assert.Equal(OstreeCommitOfTar(tar), root);
        Assert.Empty(applier.Dropped);
        Assert.Equal(17, applier.Entries);
        Peer.Ostree(repo.Root, "fsck");
        var ls = OstreeLs.List(repo.Root, commit.ToString(), xattrs: true);
        var cap = ls.Single(e => e.Path == "/usr/lib/x/cap");
        Assert.Equal((0x1E8u, 1000u, 1001u), (cap.Permissions, cap.Uid, cap.Gid));
        Assert.Equal(["user.a", "user.b"], cap.Xattrs!.Select(x => x.Name));
        Assert.Equal(0x9EDu, ls.Single(e => e.Path == "/usr/bin/tool").Permissions);
        Assert.Equal(ls.Single(e => e.Path == "/usr/bin/tool").Checksum, ls.Single(e => e.Path == "/usr/bin/tool-again").Checksum);
        Assert.Equal("bash", ls.Single(e => e.Path == "/usr/bin/sh").SymlinkTarget);
        Assert.Equal(0x3FFu, ls.Single(e => e.Path == "/var/shared").Permissions);
    }

    [Theory]
    [MemberData(nameof(WritableModes))]
    public void Apply_LayersWithWhiteoutsOpaqueDirsHardlinksAndEtc_GiveTheFlattenedTree(RepoMode mode)
    {
        var l1 = new TestLayer()
            .Dir("")
            .Dir("etc")
            .File("etc/passwd", "root:x:0:0")
            .File("etc/shadow", "secret", mode: 0x1A0, gid: 42)
            .Dir("usr")
            .Dir("usr/bin")
            .File("usr/bin/a", "A", mode: 0x1ED)
            .Dir("usr/lib")
            .Dir("usr/lib/old")
            .File("usr/lib/old/f1", "1")
            .Dir("usr/lib/old/sub")
            .File("usr/lib/old/sub/f2", "2")
            .Dir("usr/share")
            .Dir("usr/share/keep")
            .File("usr/share/keep/k", "k")
            .Dir("usr/share/opq")
            .File("usr/share/opq/lower1", "l1")
            .Dir("usr/share/opq/lowerdir")
            .File("usr/share/opq/lowerdir/x", "x")
            .Dir("var")
            .Dir("var/lib")
            .File("var/lib/data", "d")
            .Dir("tmp", mode: 0x3FF)
            .File("tmp/junk", "j")
            .Dir("dev")
            .Raw(TarEntryType.CharacterDevice, "dev/null")
            .Bytes();
        var l2 = new TestLayer()
            .File("etc/passwd", "root:x:0:0:new")
            .Hardlink("etc/hosts-link", "etc/passwd")
            .Hardlink("usr/bin/a-link", "usr/bin/a")
            .File("usr/bin/a", "A", mode: 0x1C0)
            .Whiteout("usr/lib/old")
            .Dir("usr/share/opq")
            .File("usr/share/opq/new", "n")
            .Opaque("usr/share/opq")
            .Whiteout("etc/shadow")
            .Dir("var/lib/data")
            .File("var/lib/data/inner", "i")
            .File("usr/share/keep", "now a file")
            .Whiteout("nonexistent")
            .Whiteout("tmp/junk")
            .Dir("run")
            .Dir("run/lock")
            .File("run/lock/x", "")
            .Dir("proc")
            .Dir("proc/1")
            .File("proc/1/status", "")
            .Bytes();
        var l3 = new TestLayer()
            .Hardlink("usr/bin/b", "etc/passwd")
            .Hardlink("etc/group-link", "etc/passwd")
            .Whiteout("etc/hosts-link")
            .Dir("sys")
            .File("sys/kernel", "")
            .Dir("ostree")
            .Dir("ostree/repo")
            .Dir("sysroot")
            .Symlink("sysroot/ostree", "../ostree")
            .Bytes();
        var flattened = new TestLayer()
            .Dir("")
            .Dir("usr")
            .Dir("usr/etc")
            .File("usr/etc/passwd", "root:x:0:0:new")
            .File("usr/etc/group-link", "root:x:0:0:new")
            .Dir("usr/bin")
            .File("usr/bin/a", "A", mode: 0x1C0)
            .File("usr/bin/a-link", "A", mode: 0x1ED)
            .File("usr/bin/b", "root:x:0:0:new")
            .Dir("usr/lib")
            .Dir("usr/share")
            .File("usr/share/keep", "now a file")
            .Dir("usr/share/opq")
            .File("usr/share/opq/new", "n")
            .Dir("var")
            .Dir("var/lib")
            .Dir("var/lib/data")
            .File("var/lib/data/inner", "i")
            .Dir("tmp", mode: 0x3FF)
            .Dir("dev")
            .Dir("run")
            .Dir("proc")
            .Dir("sys")
            .Dir("ostree")
            .Dir("sysroot")
            .Bytes();
        var repo = NewRepo(mode);

        var (commit, root, applier) = Commit(repo, MutableTree.Empty(Root0755), [l1, l2, l3]);

        Assert.Equal(OstreeCommitOfTar(flattened), root);
        Assert.Equal(
            new Dictionary<string, long> { ["dev"] = 1, ["ostree"] = 1, ["proc"] = 2, ["run"] = 2, ["sys"] = 1, ["sysroot"] = 1, ["tmp"] = 2 },
            applier.Dropped.OrderBy(d => d.Key, StringComparer.Ordinal).ToDictionary());
        Peer.Ostree(repo.Root, "fsck");
        var checkout = Path.Combine(Fixtures.TempDirectory("co"), "co");
        Peer.Ostree(repo.Root, mode == RepoMode.Bare ? ["checkout", commit.ToString(), checkout] : ["checkout", "-U", commit.ToString(), checkout]);
        Assert.Equal("root:x:0:0:new", File.ReadAllText(Path.Combine(checkout, "usr/bin/b")));
        Assert.False(Directory.Exists(Path.Combine(checkout, "etc")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(checkout, "tmp")));
    }

    [Theory]
    [MemberData(nameof(WritableModes))]
    public void Apply_OntoFixtureCommit_GivesOstreeCommitOfTheEditedCheckout(RepoMode mode)
    {
        var fx = Fixtures.SmallRepo;
        var repo = NewRepo(mode);
        Peer.Ostree(repo.Root, "pull-local", fx.ArchiveRepo, fx.Commit1);
        var dir = Path.Combine(Fixtures.TempDirectory("edited"), "tree");
        Peer.Check("cp", "-a", fx.Tree("tree"), dir);
        var layer = new TestLayer()
            .File("usr/bin/hi", "#!/bin/sh\necho changed\n", mode: 0x1ED)
            .Whiteout("usr/share/doc")
            .Whiteout("usr/bin/hello-link")
            .File("etc/motd", "welcome\n")
            .Dir("usr/local", mode: 0x1C0)
            .Hardlink("usr/local/hello", "usr/bin/hi")
            .Bytes();
        File.WriteAllText(Path.Combine(dir, "usr/bin/hi"), "#!/bin/sh\necho changed\n");
        Directory.Delete(Path.Combine(dir, "usr/share/doc"), recursive: true);
        File.Delete(Path.Combine(dir, "usr/bin/hello-link"));
        Directory.CreateDirectory(Path.Combine(dir, "usr/etc"));
        File.SetUnixFileMode(Path.Combine(dir, "usr/etc"), (UnixFileMode)0x1ED);
        File.WriteAllText(Path.Combine(dir, "usr/etc/motd"), "welcome\n");
        File.SetUnixFileMode(Path.Combine(dir, "usr/etc/motd"), (UnixFileMode)0x1A4);
        Directory.CreateDirectory(Path.Combine(dir, "usr/local"));
        File.SetUnixFileMode(Path.Combine(dir, "usr/local"), (UnixFileMode)0x1C0);
        File.Copy(Path.Combine(dir, "usr/bin/hi"), Path.Combine(dir, "usr/local/hello"));
        var baseCommit = Checksum.Parse(fx.Commit1);

        var (commit, root, _) = Commit(repo, MutableTree.FromCommit(repo, baseCommit), [layer], parent: baseCommit);

        Assert.Equal(OstreeCommitOfDir(dir), root);
        Peer.Ostree(repo.Root, "fsck");
        Assert.Contains(fx.Commit1, Peer.Ostree(repo.Root, "log", commit.ToString()), StringComparison.Ordinal);
        // The untouched etc and var subtrees are the base's objects.
        var before = repo.ReadDirTree(repo.ReadCommit(baseCommit).RootTree);
        var after = repo.ReadDirTree(root.Tree);
        Assert.Equal(before.Directories.Single(d => d.Name == "var"), after.Directories.Single(d => d.Name == "var"));
        Assert.Equal(before.Directories.Single(d => d.Name == "etc"), after.Directories.Single(d => d.Name == "etc"));
    }

    [Fact]
    public void Apply_OpaqueEtcAndImplicitParents_KeepsThisLayersEntriesAndCreatesRootOwned0755()
    {
        var repo = NewRepo(RepoMode.Archive);
        var tree = MutableTree.Empty(Root0755);
        var l1 = new TestLayer().Dir("etc", mode: 0x1C0).File("etc/a", "a").File("etc/b", "b").File("deep/er/file", "f", uid: 7).Bytes();
        var l2 = new TestLayer().Dir("etc", mode: 0x1E8).File("etc/c", "c").Opaque("etc").File("etc/d", "d").Bytes();

        var (_, _, applier) = Commit(repo, tree, [l1, l2]);

        Assert.Equal(["c", "d"], tree.ListNames("usr/etc"));
        Assert.Equal(StatMode.Directory | 0x1E8, tree.FindDirectoryMeta("usr/etc")!.Mode);
        Assert.Equal(Root0755, tree.FindDirectoryMeta("usr"));
        Assert.Equal(Root0755, tree.FindDirectoryMeta("deep/er"));
        Assert.Equal(MutableTreeEntryKind.None, tree.Lookup("etc"));
        Assert.Empty(applier.Dropped);
        Peer.Ostree(repo.Root, "fsck");
    }

    [Fact]
    public void Apply_OpaqueAtTheRoot_HidesEveryLowerEntry()
    {
        var repo = NewRepo(RepoMode.Archive);
        var tree = MutableTree.Empty(Root0755);
        var l1 = new TestLayer().Dir("usr").File("usr/a", "a").Dir("opt").Bytes();
        var l2 = new TestLayer().Dir("usr").File("usr/b", "b").Opaque("").Bytes();

        Commit(repo, tree, [l1, l2]);

        Assert.Equal(["usr"], tree.ListNames(""));
        Assert.Equal(["b"], tree.ListNames("usr"));
    }

    [Fact]
    public void Apply_DirectoryOverFileAndFileOverDirectory_ReplaceThem()
    {
        var repo = NewRepo(RepoMode.BareUser);
        var tree = MutableTree.Empty(Root0755);
        var l1 = new TestLayer().Dir("a").File("a/x", "x").File("b", "b").Bytes();
        var l2 = new TestLayer().File("a", "now a file").Dir("b", mode: 0x1C0).File("b/y", "y").Bytes();

        Commit(repo, tree, [l1, l2]);

        Assert.Equal(MutableTreeEntryKind.File, tree.Lookup("a"));
        Assert.Equal(["y"], tree.ListNames("b"));
        Peer.Ostree(repo.Root, "fsck");
    }

    [Fact]
    public void Apply_AufsMetadata_IsDroppedNotStored()
    {
        var repo = NewRepo(RepoMode.Archive);
        var tree = MutableTree.Empty(Root0755);
        var layer = new TestLayer().Dir(".wh..wh.plnk").File(".wh..wh.plnk/123.456", "x").File(".wh..wh.aufs", "").File("usr/a", "a").Bytes();

        var (_, _, applier) = Commit(repo, tree, [layer]);

        Assert.Equal(3, applier.Dropped[RootfsConventions.AufsMetadataReason]);
        Assert.Equal(["usr"], tree.ListNames(""));
    }

    [Fact]
    public void Map_TopLevelConventions()
    {
        Assert.Equal("usr/etc", RootfsConventions.Map("etc", out _));
        Assert.Equal("usr/etc/passwd", RootfsConventions.Map("etc/passwd", out _));
        Assert.Equal("etcetera/x", RootfsConventions.Map("etcetera/x", out _));
        Assert.Equal("var/lib/x", RootfsConventions.Map("var/lib/x", out _));
        Assert.Equal("boot/vmlinuz", RootfsConventions.Map("boot/vmlinuz", out _));
        Assert.Equal("", RootfsConventions.Map("", out _));
        foreach (var top in new[] { "run", "tmp", "proc", "sys", "dev", "ostree", "sysroot" })
        {
            Assert.Equal(top, RootfsConventions.Map(top, out var none));
            Assert.Null(none);
            Assert.Null(RootfsConventions.Map(top + "/x/y", out var reason));
            Assert.Equal(top, reason);
        }

        Assert.Null(RootfsConventions.Map(".wh..wh.plnk/123.456", out var aufs));
        Assert.Equal(RootfsConventions.AufsMetadataReason, aufs);
        Assert.Equal("usr/.wh..wh..opq", RootfsConventions.Map("usr/.wh..wh..opq", out _));
    }
}
