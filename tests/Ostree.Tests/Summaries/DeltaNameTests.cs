using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Summaries;

/// <summary>Delta names and paths against the vectors of ostree-format.md §8.1 and §12.</summary>
public class DeltaNameTests
{
    private const string Commit1 = "a8cbbee65f7b6ce40a7f8499330c46437bbdeadd6784c1eec1268befd912109a";
    private const string Commit2 = "e81ef8725f523bbb4d67f61dd79493696c488fcfce16cacb9c323cf0c4aae3bc";

    [Theory]
    [InlineData(Commit1, "qMu+5l97bOQKf4SZMwxGQ3u96t1nhMHuwSaL79kSEJo")]
    [InlineData(Commit2, "6B74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w")]
    public void ToModifiedBase64_SpecVectors_MatchAndParseBack(string hex, string expected)
    {
        var checksum = Checksum.Parse(hex);

        Assert.Equal(expected, DeltaName.ToModifiedBase64(checksum));
        Assert.True(DeltaName.TryParseModifiedBase64(expected, out var back));
        Assert.Equal(checksum, back);
    }

    [Theory]
    [InlineData("6B74cl9SO7tNZ/Yd15STaWxIj8_OFsrLnDI88MSq47w")] // '/' is spelled '_'
    [InlineData("6B74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w=")] // no pad
    [InlineData("6B74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47")] // 42 characters
    [InlineData("6B74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47x")] // non-zero trailing bits: a second spelling
    [InlineData("6B74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq4*w")]
    public void TryParseModifiedBase64_NonCanonical_ReturnsFalse(string text)
    {
        Assert.False(DeltaName.TryParseModifiedBase64(text, out _));
    }

    [Fact]
    public void Paths_FromCommit1ToCommit2_MatchTheSpec()
    {
        var delta = new DeltaName(Checksum.Parse(Commit1), Checksum.Parse(Commit2));

        Assert.Equal("deltas/qM/u+5l97bOQKf4SZMwxGQ3u96t1nhMHuwSaL79kSEJo-6B74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w", delta.RelativeDirectory);
        Assert.Equal(delta.RelativeDirectory + "/superblock", delta.SuperblockPath);
        Assert.Equal(delta.RelativeDirectory + "/0", delta.PartPath(0));
        Assert.Equal("delta-indexes/6B/74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w.index", delta.IndexPath);
        Assert.Equal($"{Commit1}-{Commit2}", delta.ToString());
        Assert.False(delta.IsFromScratch);
    }

    [Fact]
    public void Paths_FromScratch_SplitTheTargetOnly()
    {
        var delta = new DeltaName(null, Checksum.Parse(Commit2));

        Assert.Equal("deltas/6B/74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w", delta.RelativeDirectory);
        Assert.Equal(Commit2, delta.ToString());
        Assert.True(delta.IsFromScratch);
    }

    [Theory]
    [InlineData(Commit2)]
    [InlineData(Commit1 + "-" + Commit2)]
    public void Parse_ToString_RoundTrips(string name)
    {
        var delta = DeltaName.Parse(name);

        Assert.Equal(name, delta.ToString());
        Assert.True(DeltaName.TryParseDirectory(delta.RelativeDirectory, out var fromPath));
        Assert.True(DeltaName.TryParseDirectory(delta.RelativeDirectory + "/", out var fromSlashed));
        Assert.Equal(delta, fromPath);
        Assert.Equal(delta, fromSlashed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData(Commit1 + "-")]
    [InlineData("-" + Commit2)]
    [InlineData(Commit1 + "-" + Commit2 + "-" + Commit2)]
    [InlineData("E81EF8725F523BBB4D67F61DD79493696C488FCFCE16CACB9C323CF0C4AAE3BC")]
    public void Parse_NotADeltaName_Throws(string name)
    {
        Assert.Throws<InvalidDataException>(() => DeltaName.Parse(name));
    }

    [Theory]
    [InlineData("deltas/6B/74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w/superblock")]
    [InlineData("objects/6B/74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w")]
    [InlineData("deltas/6B74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w")]
    [InlineData("deltas/6B7/4cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w")]
    public void TryParseDirectory_NotADeltaDirectory_ReturnsFalse(string path)
    {
        Assert.False(DeltaName.TryParseDirectory(path, out _));
    }
}
