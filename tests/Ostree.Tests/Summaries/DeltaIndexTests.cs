using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Summaries;

/// <summary>Delta index files written by <c>ostree summary -u</c> parse, round-trip and are reproduced.</summary>
public class DeltaIndexTests
{
    [Theory]
    [MemberData(nameof(TestRepos.Both), MemberType = typeof(TestRepos))]
    public void Parse_OstreeIndexes_ListEveryDeltaToTheirTarget(string which)
    {
        var repo = TestRepos.Path(which);
        var deltas = StaticDeltas.List(repo);

        foreach (var to in deltas.Select(d => d.Name.To).Distinct())
        {
            var data = File.ReadAllBytes(Path.Combine(repo, DeltaName.IndexPathFor(to)));
            var index = DeltaIndex.Parse(data);

            var expected = deltas.Where(d => d.Name.To == to).Select(d => new DeltaDigest(d.Name, d.SuperblockDigest));
            Assert.Equal(expected.OrderBy(d => d.Name.ToString(), StringComparer.Ordinal), index.Deltas.OrderBy(d => d.Name.ToString(), StringComparer.Ordinal));
            Assert.Equal(data, index.Serialize());
            Assert.Equal(data, DeltaIndex.Create(to, deltas.Select(d => new DeltaDigest(d.Name, d.SuperblockDigest))).Serialize());
        }
    }

    [Fact]
    public void CreateAll_FixtureDeltas_OneIndexPerTargetAtOstreesPath()
    {
        var fx = Fixtures.SmallRepo;

        var indexes = DeltaIndex.CreateAll(StaticDeltas.List(fx.ArchiveRepo));

        Assert.Equal(["delta-indexes/6B/74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w.index"], indexes.Keys);
        Assert.Equal(2, indexes.Values.Single().Deltas.Count);
    }

    [Fact]
    public void Create_RoundTripsThroughParse()
    {
        var to = Checksum.Parse(Fixtures.SmallRepo.Commit2);
        var from = Checksum.Parse(Fixtures.SmallRepo.Commit1);
        DeltaDigest[] digests = [new(new DeltaName(from, to), Checksum.Compute("a"u8)), new(new DeltaName(null, to), Checksum.Compute("b"u8)), new(new DeltaName(to, from), Checksum.Compute("c"u8))];

        var parsed = DeltaIndex.Parse(DeltaIndex.Create(to, digests).Serialize());

        Assert.Equal(digests[..2].OrderBy(d => d.Name.ToString(), StringComparer.Ordinal), parsed.Deltas.OrderBy(d => d.Name.ToString(), StringComparer.Ordinal));
    }

    [Fact]
    public void Parse_DigestOfWrongLength_ThrowsNamingTheDelta()
    {
        var name = Fixtures.SmallRepo.Commit2;
        var inner = new Variant(GVariantTypes.VariantDictionary, new object[] { new object[] { name, Variant.FromBytes(new byte[20]) } });
        var data = new VariantDictionary([new(SummaryFormats.StaticDeltasKey, inner)]).Serialize();

        var e = Assert.Throws<InvalidDataException>(() => DeltaIndex.Parse(data));

        Assert.Equal($"delta index: ostree.static-deltas['{name}']: checksum is 20 bytes, expected 32", e.Message);
    }
}
