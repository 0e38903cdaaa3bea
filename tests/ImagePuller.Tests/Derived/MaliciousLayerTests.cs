using System.Formats.Tar;
using System.Text;
using OstreeContainer.ImagePuller.Derived;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Trees;
using static OstreeContainer.ImagePuller.Tests.Derived.LayerApply;

namespace OstreeContainer.ImagePuller.Tests.Derived;

/// <summary>
/// Hostile layers are refused (or bounded) with one line naming the entry, and the target
/// repository is left exactly as it was: the transaction is disposed uncommitted.
/// </summary>
public class MaliciousLayerTests
{
    private static readonly Lazy<(OstreeRepo Repo, Checksum Base)> Target = new(() =>
    {
        // A repo with a small committed tree (etc mapped, a symlinked lib dir) to attack.
        var repo = NewRepo(RepoMode.BareUser);
        var layer = new TestLayer().Dir("").Dir("usr").Dir("usr/bin").File("usr/bin/sh", "sh", mode: 0x1ED)
            .Symlink("usr/lib64", "lib").File("etc/passwd", "root").Bytes();
        var (commit, _, _) = Commit(repo, MutableTree.Empty(Root0755), [layer]);
        return (repo, commit);
    });

    public static TheoryData<string, string> EscapingEntries => new()
    {
        { "dotdot-name", "'..' component" },
        { "absolute-name", "is absolute" },
        { "dotdot-hardlink", "'..' component" },
        { "absolute-hardlink", "is absolute" },
        { "dotdot-whiteout", "'..' component" },
        { "dot-whiteout", "does not name a file to delete" },
    };

    [Theory]
    [MemberData(nameof(EscapingEntries))]
    public void Apply_EntryLeavingTheRoot_IsRefusedByTheReaderAndTheRepoIsUnchanged(string kind, string expected)
    {
        var layer = new TestLayer().File("usr/ok", "fine");
        _ = kind switch
        {
            "dotdot-name" => layer.File("usr/../../evil", "x"),
            "absolute-name" => layer.File("/etc/evil", "x"),
            "dotdot-hardlink" => layer.Hardlink("usr/link", "../../etc/shadow"),
            "absolute-hardlink" => layer.Hardlink("usr/link", "/etc/shadow"),
            "dotdot-whiteout" => layer.File("usr/../../.wh.etc", ""),
            "dot-whiteout" => layer.File("usr/.wh..", ""),
            _ => throw new ArgumentException(kind),
        };

        AssertRefusedAndUnchanged(expected, layer.Bytes());
    }

    [Theory]
    [InlineData(".wh.")]
    [InlineData("./.wh.")]
    public void Apply_WhiteoutOfTheRoot_IsRefused(string name)
    {
        AssertRefusedAndUnchanged(
            "is a whiteout of the root directory",
            new TestLayer().File("usr/ok", "fine").Raw(TarEntryType.RegularFile, name).Bytes());
    }

    [Fact]
    public void Apply_CharacterDevice_IsRefusedWithOneLine()
    {
        var e = AssertRefusedAndUnchanged("", new TestLayer().Raw(TarEntryType.CharacterDevice, "usr/x").Bytes());
        Assert.Equal("layer entry usr/x is a character device: an OSTree commit cannot hold device nodes", e.Message);
    }

    [Fact]
    public void Apply_BlockDeviceAndFifo_AreRefused()
    {
        AssertRefusedAndUnchanged("is a block device", new TestLayer().Raw(TarEntryType.BlockDevice, "usr/sda").Bytes());
        AssertRefusedAndUnchanged("is a FIFO", new TestLayer().Raw(TarEntryType.Fifo, "var/pipe").Bytes());
    }

    [Fact]
    public void Apply_DeviceNodesBelowDev_AreDroppedAndCounted()
    {
        var repo = NewRepo(RepoMode.Archive);
        var layer = new TestLayer().Dir("dev").Raw(TarEntryType.CharacterDevice, "dev/null").Raw(TarEntryType.BlockDevice, "dev/sda")
            .Raw(TarEntryType.Fifo, "run/initctl").Bytes();

        var (_, _, applier) = Commit(repo, MutableTree.Empty(Root0755), [layer]);

        Assert.Equal(2, applier.Dropped["dev"]);
        Assert.Equal(1, applier.Dropped["run"]);
    }

    [Fact]
    public void Apply_PaxSparseFile_IsRefused()
    {
        var pax = new Dictionary<string, string>
        {
            ["GNU.sparse.major"] = "1",
            ["GNU.sparse.minor"] = "0",
            ["GNU.sparse.name"] = "usr/big",
            ["GNU.sparse.realsize"] = "10737418240",
        };
        var e = AssertRefusedAndUnchanged(
            "sparse files are not supported",
            new TestLayer().File("usr/ok", "fine").Raw(TarEntryType.RegularFile, "usr/GNUSparseFile.0/big", pax: pax).Bytes());
        Assert.Contains("GNU.sparse.", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pax", "sparse files are not supported")]
    [InlineData("gnu", "type 'S' is not supported")]
    public void Apply_10GBSparseFileTarredByGnuTar_IsRefused(string format, string expected)
    {
        // The real GNU tar stores a 10 GiB file of holes in a few KiB (PAX GNU.sparse.* records
        // or a GNU 'S' entry).
        var dir = Fixtures.TempDirectory("sparse");
        Directory.CreateDirectory(Path.Combine(dir, "usr"));
        using (var f = new FileStream(Path.Combine(dir, "usr/huge"), FileMode.CreateNew))
        {
            f.Write("data"u8);
            f.SetLength(10L << 30);
        }

        var tar = Path.Combine(dir, "layer.tar");
        Peer.Check("tar", $"--format={format}", "--sparse", "-C", dir, "-cf", tar, "usr");
        var bytes = File.ReadAllBytes(tar);
        Assert.True(bytes.Length < 1 << 20, $"{bytes.Length} bytes");

        var e = AssertRefusedAndUnchanged(expected, bytes);
        Assert.Contains("huge", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_GnuSparseEntry_IsRefused()
    {
        var tar = RawTar.Concat(RawTar.Header("usr/big"u8.ToArray(), (byte)'S', 512), new byte[512], RawTar.End());
        AssertRefusedAndUnchanged("type 'S' is not supported", tar);
    }

    [Fact]
    public void Apply_HeaderClaiming10GBWithTinyData_IsRefusedAndNothingIsWritten()
    {
        // A 10 GB size field (GNU base-256) followed by 5 bytes and the end of the stream.
        var tar = RawTar.Concat(RawTar.Header("usr/huge"u8.ToArray(), (byte)'0', 10L << 30), RawTar.Block("small"u8.ToArray()));
        var e = AssertRefusedAndUnchanged("layer", tar);
        // Either the free-space check (a full disk) or the truncated content ends it.
        Assert.True(e.Message.Contains("truncated", StringComparison.Ordinal) || e.Message.Contains("FreeSpaceReserve", StringComparison.Ordinal), e.Message);
        Assert.Contains("usr/huge", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_FileLargerThanTheFreeSpace_IsRefusedBeforeReadingIt()
    {
        var tar = RawTar.Concat(RawTar.Header("usr/large"u8.ToArray(), (byte)'0', 17L << 20), RawTar.Block("small"u8.ToArray()));
        var limits = new LayerApplyLimits { FreeSpaceReserve = long.MaxValue / 2 };
        var e = AssertRefusedAndUnchanged("LayerApplyLimits.FreeSpaceReserve", tar, limits);
        Assert.StartsWith("layer entry usr/large is a 17825792-byte file, but the repository's filesystem has ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_TarBombOfTinyFiles_StopsAtMaxEntries()
    {
        var bomb = new TestLayer().Dir("usr").Dir("usr/bomb");
        for (var i = 0; i < 3000; i++)
        {
            bomb.File($"usr/bomb/{i}", "");
        }

        var limits = new LayerApplyLimits { MaxEntries = 1000 };
        var first = new TestLayer().File("usr/a", "a").Bytes();
        // The limit counts across the layers of the pull.
        var e = AssertRefusedAndUnchanged("limit of 1000 layer entries (LayerApplyLimits.MaxEntries)", [first, bomb.Bytes()], limits);
        Assert.StartsWith("layer entry usr/bomb/997: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_EntryBelowASymlinkOrFile_IsRefused()
    {
        AssertRefusedAndUnchanged("lies below 'usr/lib64', which is a file or symlink", new TestLayer().File("usr/lib64/evil.so", "x").Bytes());
        AssertRefusedAndUnchanged("lies below 'usr/bin/sh', which is a file or symlink", new TestLayer().Dir("usr/bin/sh/d").Bytes());
        AssertRefusedAndUnchanged("lies below 'usr/lib64'", new TestLayer().Whiteout("usr/lib64/x").Bytes());
        AssertRefusedAndUnchanged("lies below 'usr/lib64'", new TestLayer().Symlink("usr/lib64/x", "/").Bytes());
    }

    [Fact]
    public void Apply_HardlinkToMissingOrDirectoryOrDroppedTarget_NamesBothPaths()
    {
        AssertRefusedAndUnchanged(
            "layer entry usr/l is a hard link to 'usr/nothing', which is not in the tree",
            new TestLayer().Hardlink("usr/l", "usr/nothing").Bytes());
        AssertRefusedAndUnchanged(
            "layer entry usr/l is a hard link to 'usr/bin', which is a directory",
            new TestLayer().Hardlink("usr/l", "usr/bin").Bytes());
        AssertRefusedAndUnchanged(
            "layer entry usr/l is a hard link to 'tmp/x', which is dropped (tmp)",
            new TestLayer().Dir("tmp").File("tmp/x", "x").Hardlink("usr/l", "tmp/x").Bytes());
        // A link to a file a whiteout just removed.
        AssertRefusedAndUnchanged(
            "hard link to 'etc/passwd', which is not in the tree (usr/etc/passwd)",
            new TestLayer().Whiteout("etc/passwd").Hardlink("usr/l", "etc/passwd").Bytes());
    }

    [Fact]
    public void Apply_IdsBeyond32Bits_AreRefused()
    {
        var tar = RawTar.Concat(RawTar.Pax(("uid", "4294967296")), RawTar.Header("usr/x"u8.ToArray(), (byte)'0', 0), RawTar.End());
        AssertRefusedAndUnchanged("layer entry usr/x has uid 4294967296, beyond the 32 bits OSTree stores", tar);
    }

    [Fact]
    public void Apply_PathLongerThanPathMax_IsRefused()
    {
        // 3000 nested directories in one PAX name: a tree deeper than any checkout could be.
        var deep = "usr/" + string.Concat(Enumerable.Repeat("a/", 3000)) + "f";
        AssertRefusedAndUnchanged("paths of 4096 bytes or more cannot be checked out (PATH_MAX)", new TestLayer().File(deep, "x").Bytes());
    }

    [Fact]
    public void Apply_NameNotUtf8_IsRefused()
    {
        var name = Encoding.ASCII.GetBytes("usr/bad-").Concat(new byte[] { 0xFF, 0xFE }).ToArray();
        var tar = RawTar.Concat(RawTar.Header(name, (byte)'0', 0), RawTar.End());
        AssertRefusedAndUnchanged("not valid UTF-8", tar);
    }

    private static InvalidDataException AssertRefusedAndUnchanged(string expected, byte[] layer, LayerApplyLimits? limits = null) =>
        AssertRefusedAndUnchanged(expected, [layer], limits);

    private static InvalidDataException AssertRefusedAndUnchanged(string expected, byte[][] layers, LayerApplyLimits? limits = null)
    {
        var (repo, commit) = Target.Value;
        lock (Target)
        {
            var before = RepoSnapshot.Of(repo.Root);
            var e = Refused(repo, MutableTree.FromCommit(repo, commit), limits, layers);
            AssertOneLine(e, expected);
            Assert.Equal(before, RepoSnapshot.Of(repo.Root));
            Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(Path.Combine(repo.Root, "tmp")), p => Path.GetFileName(p).StartsWith("staging-", StringComparison.Ordinal));
            return e;
        }
    }
}
