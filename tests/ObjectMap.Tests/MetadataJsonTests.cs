using System.Text.Json;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ObjectMap.Tests;

public class MetadataJsonTests
{
    [Fact]
    public void Format_EveryKindOfValue_MapsAsDocumented()
    {
        var metadata = new VariantDictionary(
        [
            new("version", Variant.FromString("2.0")),
            new("ostree.ref-binding", Variant.FromStrings(["a/b", "c"])),
            new("bytes", Variant.FromBytes([0xde, 0xad])),
            new("flag", Variant.FromBoolean(true)),
            new("count", Variant.FromUInt64(ulong.MaxValue)),
            new("signed", new Variant(GVariantType.Parse("x"), -5L)),
            new("ratio", new Variant(GVariantType.Parse("d"), 0.5)),
            new("nan", new Variant(GVariantType.Parse("d"), double.NaN)),
            new("nothing", new Variant(GVariantType.Parse("ms"), null!)),
            new("some", new Variant(GVariantType.Parse("ms"), "x")),
            new("nested", new Variant(GVariantTypes.VariantDictionary, new object[] { new object[] { "k", Variant.FromString("v") } })),
            new("numbers", new Variant(GVariantType.Parse("a{us}"), new object[] { new object[] { 7u, "seven" } })),
            new("tuple", new Variant(GVariantType.Parse("(su)"), new object[] { "s", 3u })),
            new("boxed", new Variant(GVariantType.Parse("v"), Variant.FromString("inner"))),
            new("version", Variant.FromString("ignored duplicate")),
        ]);

        var json = MetadataJson.Format(metadata);

        Assert.Equal(
            """{"version":"2.0","ostree.ref-binding":["a/b","c"],"bytes":"dead","flag":true,"count":18446744073709551615,"signed":-5,"ratio":0.5,"nan":"NaN","nothing":null,"some":"x","nested":{"k":"v"},"numbers":{"7":"seven"},"tuple":["s",3],"boxed":"inner"}""",
            json);
        using var parsed = JsonDocument.Parse(json);
    }

    [Fact]
    public void Format_OsCommitMetadata_IsValidJsonHoldingEveryKey()
    {
        var os = Fixtures.OsRepo;
        var commit = Ostree.Repository.OstreeRepo.Open(os.Repo).ReadCommit(Checksum.Parse(os.Commit2));

        using var parsed = JsonDocument.Parse(MetadataJson.Format(commit.Metadata));

        Assert.Equal(commit.Metadata.Entries.Select(e => e.Key).Distinct(), parsed.RootElement.EnumerateObject().Select(p => p.Name));
    }
}
