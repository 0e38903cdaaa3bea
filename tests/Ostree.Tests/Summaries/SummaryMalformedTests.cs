using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Summaries;

/// <summary>A corpus of bad summaries: each is rejected with an <see cref="InvalidDataException"/> naming the field.</summary>
public class SummaryMalformedTests
{
    private static readonly byte[] C = Convert.FromHexString("e81ef8725f523bbb4d67f61dd79493696c488fcfce16cacb9c323cf0c4aae3bc");

    private static object Ref(string name, byte[]? checksum = null, params object[] metadata) =>
        new object[] { name, new object[] { 190UL, checksum ?? C, metadata } };

    private static object Entry(string key, Variant value) => new object[] { key, value };

    private static byte[] Encode(object[] refs, params object[] metadata) =>
        GVariantWriter.Encode(ObjectFormats.Summary, new object[] { refs, metadata });

    public static TheoryData<string, byte[], string> Corpus => new()
    {
        { "unsorted refs", Encode([Ref("b"), Ref("a")]), "summary: refs[1].name: 'a' is not sorted after 'b'" },
        { "duplicate refs", Encode([Ref("a"), Ref("a")]), "summary: refs[1].name: 'a' is not sorted after 'a' (or is a duplicate)" },
        { "UTF-16 order instead of byte order", Encode([Ref("\U0001D400"), Ref("\uFF21")]), "summary: refs[1].name: '\uFF21' is not sorted after '\U0001D400'" },
        { "31-byte checksum", Encode([Ref("a"), Ref("b", C[..31])]), "summary: refs[1] 'b'.checksum: checksum is 31 bytes, expected 32" },
        { "empty checksum", Encode([Ref("a", [])]), "summary: refs[0] 'a'.checksum: checksum is 0 bytes" },
        { "invalid ref name", Encode([Ref("a/../b")]), "summary: refs[0].name: 'a/../b' is not a valid ref name" },
        { "timestamp of the wrong type", Encode([Ref("a", null, Entry(SummaryFormats.CommitTimestampKey, Variant.FromString("x")))]), "summary: refs[0] 'a': metadata['ostree.commit.timestamp']: has type 's', expected 't'" },
        { "mode of the wrong type", Encode([], Entry(SummaryFormats.ModeKey, Variant.FromUInt64(1))), "summary: metadata['ostree.summary.mode']: has type 't', expected 's'" },
        { "indexed-deltas not a boolean", Encode([], Entry(SummaryFormats.IndexedDeltasKey, Variant.FromString("true"))), "summary: metadata['ostree.summary.indexed-deltas']: has type 's', expected 'b'" },
        { "static-deltas not a dictionary", Encode([], Entry(SummaryFormats.StaticDeltasKey, Variant.FromBytes(C))), "summary: metadata['ostree.static-deltas']: has type 'ay', expected 'a{sv}'" },
        { "bad delta name", Encode([], Entry(SummaryFormats.StaticDeltasKey, new Variant(GVariantTypes.VariantDictionary, new object[] { Entry("nope", Variant.FromBytes(C)) }))), "summary: metadata['ostree.static-deltas'][0]: 'nope' is not a static delta name" },
        { "short delta digest", Encode([], Entry(SummaryFormats.StaticDeltasKey, new Variant(GVariantTypes.VariantDictionary, new object[] { Entry(Convert.ToHexStringLower(C), Variant.FromBytes(C[..16])) }))), $"summary: metadata['ostree.static-deltas']['{Convert.ToHexStringLower(C)}']: checksum is 16 bytes" },
        { "bad collection id", Encode([], Entry(SummaryFormats.CollectionIdKey, Variant.FromString("nodots"))), "summary: metadata['ostree.summary.collection-id']: 'nodots' is not a valid collection ID" },
        { "unsorted collection map", Encode([], Entry(SummaryFormats.CollectionMapKey, new Variant(SummaryFormats.CollectionMap, new object[] { new object[] { "org.b.B", Array.Empty<object>() }, new object[] { "org.a.A", Array.Empty<object>() } }))), "summary: metadata['ostree.summary.collection-map'][1]: collection 'org.a.A' is not sorted after 'org.b.B'" },
        { "unsorted refs in a collection", Encode([], Entry(SummaryFormats.CollectionMapKey, new Variant(SummaryFormats.CollectionMap, new object[] { new object[] { "org.a.A", new object[] { Ref("y"), Ref("x") } } }))), "summary: metadata['ostree.summary.collection-map']['org.a.A'].refs[1].name: 'x' is not sorted after 'y'" },
        { "trailing garbage", [.. Encode([Ref("a")]), 0], "summary: " },
        { "empty file", [], "summary: " },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Parse_MalformedSummary_ThrowsNamingTheField(string scenario, byte[] data, string expectedPrefix)
    {
        var e = Assert.Throws<InvalidDataException>(() => Summary.Parse(data));

        Assert.True(e.Message.StartsWith(expectedPrefix, StringComparison.Ordinal), $"{scenario}: '{e.Message}'");
    }

    [Fact]
    public void Parse_EveryTruncationOfARealSummary_ThrowsInvalidData()
    {
        var data = File.ReadAllBytes(Path.Combine(Fixtures.SmallRepo.ArchiveRepo, "summary"));

        for (var length = 0; length < data.Length; length++)
        {
            var e = Assert.Throws<InvalidDataException>(() => Summary.Parse(data.AsSpan(0, length)));
            Assert.StartsWith("summary: ", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Parse_EverySingleByteCorruption_ParsesOrThrowsInvalidDataOnly()
    {
        // Robustness: no other exception type (index out of range, cast…) may escape.
        var data = File.ReadAllBytes(Path.Combine(Fixtures.SmallRepo.ArchiveRepo, "summary"));
        var rejected = 0;
        for (var i = 0; i < data.Length; i++)
        {
            var copy = (byte[])data.Clone();
            copy[i] ^= 0x41;
            try
            {
                Summary.Parse(copy);
            }
            catch (InvalidDataException)
            {
                rejected++;
            }
        }

        Assert.InRange(rejected, data.Length / 4, data.Length);
    }
}
