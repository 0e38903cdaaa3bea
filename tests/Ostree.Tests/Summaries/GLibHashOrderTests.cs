using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Summaries;

/// <summary>
/// The GLib hash-table port. Its real oracle is the byte-identical comparison with
/// <c>ostree summary -u</c> in <see cref="SummaryTests"/>; these pin the building blocks.
/// </summary>
public class GLibHashOrderTests
{
    [Theory]
    [InlineData("", 5381u)]
    [InlineData("a", 177670u)] // 5381 * 33 + 97
    [InlineData("\u00e9", 5857809u)] // UTF-8 C3 A9 read as signed chars: (5381 * 33 - 61) * 33 - 87
    public void StrHash_MatchesGStrHash(string key, uint expected)
    {
        Assert.Equal(expected, GLibHashOrder<int>.StrHash(key));
    }

    [Fact]
    public void Order_SummaryKeys_AreEmittedInOstreesOrder()
    {
        // The order ostree 2022.7 wrote into the fixture summaries (see ostree-format.md §7 and SummaryTests).
        string[] inserted = ["ostree.static-deltas", "ostree.summary.last-modified", "ostree.summary.mode", "ostree.summary.tombstone-commits", "ostree.summary.indexed-deltas"];

        var ordered = GLibHashOrder<int>.Order(inserted.Select((k, i) => new KeyValuePair<string, int>(k, i))).Select(e => e.Key);

        Assert.Equal(["ostree.summary.mode", "ostree.summary.last-modified", "ostree.summary.tombstone-commits", "ostree.static-deltas", "ostree.summary.indexed-deltas"], ordered);
    }

    [Fact]
    public void Insert_ExistingKey_ReplacesTheValueInPlace()
    {
        var table = new GLibHashOrder<int>();
        for (var i = 0; i < 40; i++)
        {
            table.Insert($"key{i}", i);
        }

        var before = table.Entries().Select(e => e.Key).ToList();
        table.Insert("key7", 700);

        Assert.Equal(40, table.Count);
        Assert.Equal(before, table.Entries().Select(e => e.Key));
        Assert.Equal(700, table.Entries().Single(e => e.Key == "key7").Value);
    }
}
