using System.Buffers.Binary;
using System.Text.RegularExpressions;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Summaries;

/// <summary>Superblocks written by <c>ostree static-delta generate</c> parse to what <c>ostree static-delta show</c> reports.</summary>
public partial class DeltaSuperblockTests
{
    [Theory]
    [MemberData(nameof(TestRepos.Both), MemberType = typeof(TestRepos))]
    public void Parse_EveryDeltaOfOstreeRepo_MatchesStaticDeltaShowAndTheCommitFile(string which)
    {
        var repo = TestRepos.Path(which);
        foreach (var delta in StaticDeltas.List(repo))
        {
            var data = File.ReadAllBytes(delta.SuperblockPath);
            var superblock = DeltaSuperblock.Parse(data);
            var show = Peer.Ostree(repo, "static-delta", "show", delta.Name.ToString());

            Assert.Equal(delta.Name, superblock.Name);
            Assert.Equal(TestRepos.CommitObject(repo, superblock.To), superblock.CommitObject.ToArray());
            Assert.Equal(superblock.To, superblock.Commit.ComputeChecksum());
            Assert.Equal(DeltaEndianness.Little, superblock.Endianness);
            Assert.False(superblock.EndiannessGuessed);
            Assert.Contains("Endianness: little\n", show, StringComparison.Ordinal);
            Assert.Contains($"Timestamp: {superblock.Timestamp}\n", show, StringComparison.Ordinal);
            Assert.Contains($"Number of parts: {superblock.Parts.Count}\n", show, StringComparison.Ordinal);
            Assert.Contains($"Number of fallback entries: {superblock.Fallbacks.Count}\n", show, StringComparison.Ordinal);
            for (var i = 0; i < superblock.Parts.Count; i++)
            {
                var part = superblock.Parts[i];
                var partFile = Path.Combine(repo, delta.Name.PartPath(i));
                Assert.Contains($"PartMeta{i}: nobjects={part.Objects.Count} size={part.Size} usize={part.UncompressedSize}\n", show, StringComparison.Ordinal);
                Assert.Equal((ulong)new FileInfo(partFile).Length, part.Size);
                Assert.Equal(TestRepos.Sha256File(partFile), part.Checksum);
                Assert.Equal(DeltaSuperblock.PartVersion, part.Version);
            }

            Assert.Equal(data, superblock.Serialize());
        }
    }

    [Fact]
    public void Parse_FromScratchDeltaOfFixture_ListsEveryObjectOfCommit2()
    {
        var fx = Fixtures.SmallRepo;
        var scratch = StaticDeltas.List(fx.ArchiveRepo).Single(d => d.Name.IsFromScratch);

        var superblock = DeltaSuperblock.Parse(File.ReadAllBytes(scratch.SuperblockPath));

        // ostree-format.md §8.4: the fixture's from-scratch delta carries 15 objects; the commit itself is in no part.
        var objects = superblock.Parts.SelectMany(p => p.Objects).ToList();
        Assert.Null(superblock.From);
        Assert.Equal(15, objects.Count);
        Assert.DoesNotContain(objects, o => o.Type == ObjectType.Commit);
        Assert.Contains(new DeltaObject(ObjectType.DirTree, superblock.Commit.RootTree), objects);
        Assert.Contains(new DeltaObject(ObjectType.File, Checksum.Parse("cc700d46f407c6c5ab2d5dde474366a928b7398277e61162e7f8ec06f469f07e")), objects);
        Assert.All(objects, o => Assert.True(File.Exists(TestRepos.ObjectPath(fx.ArchiveRepo, o.Checksum, o.Type.Extension(archive: true)))));
    }

    [Fact]
    public void DetachedMetadata_DeltaToSignedLikeCommit_EqualsTheCommitmetaFile()
    {
        var fx = Fixtures.SmallRepo;
        var repo = TestRepos.Copy(fx.ArchiveRepo, "summary-detached");
        var c1 = Checksum.Parse(fx.Commit1);
        Peer.Ostree(repo, "static-delta", "generate", "--empty", $"--to={fx.Commit1}");

        var superblock = DeltaSuperblock.Parse(File.ReadAllBytes(Path.Combine(repo, new DeltaName(null, c1).SuperblockPath)));

        Assert.Equal(File.ReadAllBytes(TestRepos.ObjectPath(repo, c1, "commitmeta")), superblock.DetachedMetadata!.Serialize());
        Assert.Equal("detached-hello", superblock.DetachedMetadata.GetString("fixture.note"));
    }

    [Fact]
    public void WithEndianness_BigEndianSuperblock_RealOstreeShowsTheSameSizes()
    {
        var fx = Fixtures.SmallRepo;
        var repo = TestRepos.Copy(fx.ArchiveRepo, "summary-bigendian");
        var delta = StaticDeltas.List(repo).Single(d => !d.Name.IsFromScratch);
        var original = File.ReadAllBytes(delta.SuperblockPath);
        var before = Peer.Ostree(repo, "static-delta", "show", delta.Name.ToString());

        var big = DeltaSuperblock.Parse(original).WithEndianness(DeltaEndianness.Big).Serialize();
        File.WriteAllBytes(delta.SuperblockPath, big);
        var after = Peer.Ostree(repo, "static-delta", "show", delta.Name.ToString());
        var reparsed = DeltaSuperblock.Parse(big);

        Assert.NotEqual(original, big);
        Assert.Contains("Endianness: big\n", after, StringComparison.Ordinal);
        Assert.Equal(PartMetaLines(before), PartMetaLines(after));
        Assert.Equal(DeltaEndianness.Big, reparsed.Endianness);
        Assert.Equal(original, reparsed.WithEndianness(DeltaEndianness.Little).Serialize());
    }

    [Fact]
    public void Parse_WithoutEndiannessKey_GuessesLikeOstree()
    {
        var without = Modify(v => v[0] = ((object[])v[0]).Where(e => (string)((object[])e)[0] != SummaryFormats.EndiannessKey).ToArray());

        var superblock = DeltaSuperblock.Parse(without);

        Assert.True(superblock.EndiannessGuessed);
        Assert.Equal(DeltaEndianness.Little, superblock.Endianness);
    }

    [Fact]
    public void Parse_WithoutEndiannessKeyAndImplausibleSizes_GuessesSwapped()
    {
        // A part "compressed" to more than 1.2x its uncompressed size makes ostree assume
        // the integers are byte-swapped (_ostree_delta_get_endianness).
        var without = Modify(v =>
        {
            v[0] = ((object[])v[0]).Where(e => (string)((object[])e)[0] != SummaryFormats.EndiannessKey).ToArray();
            var part = (object[])((object[])v[6])[0];
            part[2] = 1000UL;
            part[3] = 10UL;
        });

        var superblock = DeltaSuperblock.Parse(without);

        Assert.True(superblock.EndiannessGuessed);
        Assert.Equal(DeltaEndianness.Big, superblock.Endianness);
        Assert.Equal(BinaryPrimitives.ReverseEndianness(1000UL), superblock.Parts[0].Size);
    }

    public static TheoryData<string, string> Corruptions => new()
    {
        { "to", "superblock: commit: embedded commit hashes to e81ef872" },
        { "short-to", "superblock: to: checksum is 31 bytes" },
        { "objects", "superblock: parts[0].objects: 98 bytes is not a whole number of 33-byte object records" },
        { "objtype", "superblock: parts[0].objects[0].type: 0 is not an object type" },
        { "version", "superblock: parts[0].version: 1 is newer than the supported version 0" },
        { "endianness", "superblock: metadata['ostree.endianness']: 0x78 is neither 'l' nor 'B'" },
        { "part-checksum", "superblock: parts[0].checksum: checksum is 0 bytes" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Parse_CorruptedSuperblock_ThrowsNamingTheField(string what, string expectedPrefix)
    {
        var c1 = Convert.FromHexString(Fixtures.SmallRepo.Commit1);
        var data = Modify(v =>
        {
            var part = (object[])((object[])v[6])[0];
            var objects = (byte[])part[4];
            switch (what)
            {
                case "to": v[3] = c1; break;
                case "short-to": v[3] = c1[..31]; break;
                case "objects": part[4] = objects[..98]; break;
                case "objtype": objects[0] = 0; break;
                case "version": part[0] = 1u; break;
                case "endianness": ((object[])((object[])v[0])[0])[1] = new Variant(GVariantTypes.Byte, (byte)'x'); break;
                case "part-checksum": part[1] = Array.Empty<byte>(); break;
            }
        });

        var e = Assert.Throws<InvalidDataException>(() => DeltaSuperblock.Parse(data));

        Assert.StartsWith(expectedPrefix, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SignedSuperblock_SaysSo()
    {
        byte[] signed = [.. "OSTSGNDT"u8, .. Original()];

        var e = Assert.Throws<InvalidDataException>(() => DeltaSuperblock.Parse(signed));

        Assert.Contains("signed superblock", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EveryTruncation_ThrowsInvalidData()
    {
        var data = Original();

        for (var length = 0; length < data.Length; length++)
        {
            var e = Assert.Throws<InvalidDataException>(() => DeltaSuperblock.Parse(data.AsSpan(0, length)));
            Assert.StartsWith("superblock: ", e.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>The fixture's commit1 → commit2 superblock (endianness key first in its metadata).</summary>
    private static byte[] Original() =>
        File.ReadAllBytes(StaticDeltas.List(Fixtures.SmallRepo.ArchiveRepo).Single(d => !d.Name.IsFromScratch).SuperblockPath);

    private static byte[] Modify(Action<object[]> change)
    {
        var value = (object[])GVariantReader.Decode(ObjectFormats.DeltaSuperblock, Original());
        change(value);
        return GVariantWriter.Encode(ObjectFormats.DeltaSuperblock, value);
    }

    private static List<string> PartMetaLines(string show) =>
        PartMetaRegex().Matches(show).Select(m => m.Value).ToList();

    [GeneratedRegex(@"^PartMeta\d+: .*$", RegexOptions.Multiline, "en-US")]
    private static partial Regex PartMetaRegex();
}
