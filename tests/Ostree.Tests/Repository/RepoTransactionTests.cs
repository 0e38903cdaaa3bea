using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Posix;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Trees;

namespace OstreeContainer.Ostree.Tests.Repository;

/// <summary>Writing <c>bare</c> (root) repositories: owners, full modes, xattrs and real symlinks, judged by the real ostree.</summary>
public class RepoTransactionTests
{
    [Fact]
    public void Commit_BareRepo_OwnersModesXattrsAndSymlinks_MatchOstreeCommitAndCheckout()
    {
        Assert.True(FileSystem.IsRoot, "bare repositories keep real owners: run the tests as root");
        var source = Path.Combine(Fixtures.TempDirectory("bare-src"), "tree");
        MakeTree(source);
        var ours = OstreeRepo.Create(Fixtures.TempDirectory("bare-ours"), RepoMode.Bare);
        var theirs = Fixtures.TempDirectory("bare-theirs");
        Peer.Check("ostree", "init", $"--repo={theirs}", "--mode=bare");

        var result = DirectoryCommitter.Commit(ours, source, new CommitOptions { Branch = "t/main", Subject = "bare", Timestamp = 1704067200 });
        Peer.Ostree(theirs, "commit", "--branch=t/main", "--subject=bare", "--timestamp=2024-01-01T00:00:00Z", source);

        // Same checksums as the real ostree commit, and the objects fsck clean with the real ostree.
        Assert.Equal(Peer.Ostree(theirs, "rev-parse", "t/main").Trim(), result.Commit.ToString());
        Assert.Equal(Peer.Ostree(theirs, "ls", "-R", "-X", "t/main"), Peer.Ostree(ours.Root, "ls", "-R", "-X", "t/main"));
        Peer.Ostree(ours.Root, "fsck");
        var checkout = Path.Combine(Fixtures.TempDirectory("bare-co"), "tree");
        Peer.Ostree(ours.Root, "checkout", "t/main", checkout);
        Assert.Empty(TreeDiff.Compare(source, checkout, ownership: true));
        foreach (var name in new[] { "suid", "link" })
        {
            Assert.Equal(Xattrs(Path.Combine(source, name)), Xattrs(Path.Combine(checkout, name)));
        }

        // The objects themselves: a real symlink, setuid kept after the chown, mtime 0.
        var link = UnixStat.LStat(ours.ObjectPath(Checksum.Parse(FileChecksum(ours, "/link")), ObjectType.File));
        Assert.True(StatMode.IsSymlink(link.Mode));
        Assert.Equal((1234u, 5678u), (link.Uid, link.Gid));
        var suid = UnixStat.LStat(ours.ObjectPath(Checksum.Parse(FileChecksum(ours, "/suid")), ObjectType.File));
        Assert.Equal(0x9EDu, suid.Mode & 0xFFF); // 04755
        Assert.Equal(0, suid.ModifiedSeconds);
    }

    [Fact]
    public void WriteContent_BareRepo_WrongExpectedChecksum_NothingStaged()
    {
        var repo = OstreeRepo.Create(Fixtures.TempDirectory("bare-bad"), RepoMode.Bare);
        var header = FileHeader.Regular(1234, 5678, 0x1ED);
        var content = new byte[9 << 20]; // above the in-memory limit: streams through a temp file
        var wrong = header.ComputeChecksum([1]);
        using var transaction = repo.BeginTransaction();

        Assert.Throws<InvalidDataException>(() => transaction.WriteContent(header, new MemoryStream(content), content.Length, wrong));

        Assert.Equal(0, transaction.StagedCount);
        var written = transaction.WriteContent(header, new MemoryStream(content), content.Length, header.ComputeChecksum(content));
        transaction.Commit();
        var stat = UnixStat.LStat(repo.ObjectPath(written, ObjectType.File));
        Assert.Equal((1234u, 5678u, 0x1EDu), (stat.Uid, stat.Gid, stat.Mode & 0xFFF));
        using var read = repo.OpenContent(written);
        Assert.Equal(header, read.Header with { Xattrs = [] });
    }

    // A tree only root can make: foreign owners, setuid, a dangling symlink owned by
    // someone else, a symlink to a directory, xattrs in the user and trusted namespaces (symlinks take only trusted.*).
    private static void MakeTree(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "sub"));
        File.WriteAllText(Path.Combine(root, "suid"), "#!/bin/sh\necho setuid\n");
        File.WriteAllBytes(Path.Combine(root, "big"), [.. Enumerable.Range(0, 9 << 20).Select(i => (byte)(i * 7))]);
        File.WriteAllBytes(Path.Combine(root, "sub", "empty"), []);
        File.CreateSymbolicLink(Path.Combine(root, "link"), "../nowhere");
        // Absolute, so it resolves to a directory from the staging area too; empty, so no tree walk gains anything by following it.
        File.CreateSymbolicLink(Path.Combine(root, "dirlink"), Fixtures.TempDirectory("bare-link-target"));
        FileSystem.LChown(Path.Combine(root, "suid"), 1234, 5678);
        File.SetUnixFileMode(Path.Combine(root, "suid"), (UnixFileMode)0x9ED);
        FileSystem.SetXattr(Path.Combine(root, "suid"), "user.note", "hello"u8);
        FileSystem.SetXattr(Path.Combine(root, "suid"), "trusted.note", [0, 1, 2]);
        FileSystem.LChown(Path.Combine(root, "big"), 0, 42);
        File.SetUnixFileMode(Path.Combine(root, "big"), (UnixFileMode)0x1A0);
        File.SetUnixFileMode(Path.Combine(root, "sub", "empty"), (UnixFileMode)0x180);
        FileSystem.LChown(Path.Combine(root, "sub"), 7, 8);
        File.SetUnixFileMode(Path.Combine(root, "sub"), (UnixFileMode)0x1E8);
        FileSystem.LChown(Path.Combine(root, "link"), 1234, 5678);
        FileSystem.SetXattr(Path.Combine(root, "link"), "trusted.link", "l"u8);
    }

    private static string Xattrs(string path) =>
        string.Join(";", FileSystem.ListXattrs(path).Order(StringComparer.Ordinal).Select(n => $"{n}={Convert.ToHexString(FileSystem.GetXattr(path, n)!)}"));

    private static string FileChecksum(OstreeRepo repo, string path) =>
        Peer.Ostree(repo.Root, "ls", "-C", "t/main", path).Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];
}
