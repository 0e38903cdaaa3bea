using System.IO.Compression;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Tests.Objects;

/// <summary>Every object ostree wrote into the fixture repo parses, re-encodes byte for byte and hashes to its name.</summary>
public class FixtureObjectTests
{
    private static IEnumerable<(string Path, Checksum Name, string Extension)> ObjectFiles(string repo) =>
        Directory.EnumerateFiles(Path.Combine(repo, "objects"), "*", SearchOption.AllDirectories)
            .Select(p =>
            {
                var file = Path.GetFileName(p);
                var dot = file.IndexOf('.', StringComparison.Ordinal);
                return (p, Checksum.Parse(Path.GetFileName(Path.GetDirectoryName(p))! + file[..dot]), file[(dot + 1)..]);
            });

    [Fact]
    public void MetadataObjects_Parse_ReencodeIdenticallyAndHashToTheirName()
    {
        var count = 0;
        foreach (var (path, name, ext) in ObjectFiles(Fixtures.SmallRepo.ArchiveRepo))
        {
            var data = File.ReadAllBytes(path);
            byte[]? reencoded = ext switch
            {
                "dirtree" => DirTree.Parse(data).Serialize(),
                "dirmeta" => DirMeta.Parse(data).Serialize(),
                "commit" => Commit.Parse(data).Serialize(),
                "commitmeta" => VariantDictionary.Parse(data).Serialize(),
                _ => null,
            };
            if (reencoded is null)
            {
                continue;
            }

            Assert.Equal(data, reencoded);
            if (ext != "commitmeta")
            {
                Assert.Equal(name, Checksum.Compute(data));
            }

            count++;
        }

        Assert.True(count >= 10, $"only {count} metadata objects found");
    }

    [Fact]
    public void FilezObjects_ParseAndHashToTheirName()
    {
        var count = 0;
        foreach (var (path, name, ext) in ObjectFiles(Fixtures.SmallRepo.ArchiveRepo).Where(o => o.Extension == "filez"))
        {
            var data = File.ReadAllBytes(path);
            var header = FileHeader.ParseArchive(data, out var size, out var payload);
            var content = Array.Empty<byte>();
            if (!header.IsSymlink)
            {
                using var inflate = new DeflateStream(new MemoryStream(data, payload, data.Length - payload), CompressionMode.Decompress);
                using var buffer = new MemoryStream();
                inflate.CopyTo(buffer);
                content = buffer.ToArray();
            }

            Assert.Equal(size, (ulong)content.Length);
            Assert.Equal(name, header.ComputeChecksum(content));
            count++;
        }

        Assert.True(count >= 8, $"only {count} file objects found");
    }

    [Fact]
    public void Commit1_FieldsMatchWhatOstreeWasGiven()
    {
        var fx = Fixtures.SmallRepo;
        var c1 = Checksum.Parse(fx.Commit1);
        var data = File.ReadAllBytes(Path.Combine(fx.ArchiveRepo, "objects", fx.Commit1[..2], fx.Commit1[2..] + ".commit"));
        var commit = Commit.Parse(data);

        Assert.Equal(c1, commit.ComputeChecksum());
        Assert.Equal("fixture commit 1", commit.Subject);
        Assert.Equal("first body", commit.Body);
        Assert.Equal(1704067200UL, commit.Timestamp);
        Assert.Null(commit.Parent);
        Assert.Equal("5624614deb7446f7892a846d5d980a21728850397d7509bf2235aba026a604c4", commit.RootTree.ToString());
        Assert.Equal("446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488", commit.RootMeta.ToString());
        var binding = commit.Metadata[Commit.RefBindingKey]!;
        Assert.Equal(["fixture/v1"], ((object[])binding.Value).Cast<string>());
    }

    [Fact]
    public void Commit2_ContentChecksumMatchesOstreeShow()
    {
        var fx = Fixtures.SmallRepo;
        var data = File.ReadAllBytes(Path.Combine(fx.ArchiveRepo, "objects", fx.Commit2[..2], fx.Commit2[2..] + ".commit"));
        var commit = Commit.Parse(data);
        var shown = Peer.Ostree(fx.ArchiveRepo, "show", "--print-metadata-key=version", fx.Commit2);

        Assert.Equal("70e41e677b88a1e3162d9bf22b9f414bf868eb0d4f301ad7e725fd3473779efd", commit.ContentChecksum.ToString());
        Assert.Equal(fx.Commit1, commit.Parent.ToString());
        Assert.Equal("'2.0'", shown.Trim());
        Assert.Equal("2.0", commit.Version);
    }

    [Fact]
    public void EmptyDirTree_HasTheWellKnownChecksum()
    {
        Assert.Equal([0], DirTree.Empty.Serialize());
        Assert.Equal("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", DirTree.Empty.ComputeChecksum().ToString());
    }

    [Theory]
    [InlineData("hello world\n", 0x1A4u, "81381808c56d4f3d643ec12f6a18fcf2993af8daba7c2a1b2cbfc315b39424c6")]
    [InlineData("", 0x1A4u, "cc700d46f407c6c5ab2d5dde474366a928b7398277e61162e7f8ec06f469f07e")]
    [InlineData("#!/bin/sh\necho hi\n", 0x1EDu, "89b350d278ff59ba4780bc377b8ebfee8ade6b55c99fab1ec84e133bc6ea52c5")]
    public void RegularFileChecksum_MatchesVector(string content, uint mode, string expected)
    {
        var header = FileHeader.Regular(0, 0, mode);
        Assert.Equal(expected, header.ComputeChecksum(System.Text.Encoding.UTF8.GetBytes(content)).ToString());
    }

    [Fact]
    public void SymlinkAndXattrChecksums_MatchVectors()
    {
        Assert.Equal(
            "96ce59a2f07138f557c6df238f344dcd15e1124aa055d785892d6f8591000a1a",
            FileHeader.Symlink(0, 0, "../../etc/hello.txt").ComputeChecksum([]).ToString());
        var withXattr = FileHeader.Regular(0, 0, 0x1A4, [new Xattr("user.fixture", "value1"u8.ToArray())]);
        Assert.Equal(
            "bc5855ae4c4d4e7df33f5c8ae12b9688b0f000f1ef42e7d78956c43e453069bf",
            withXattr.ComputeChecksum("has xattr\n"u8).ToString());
    }
}
