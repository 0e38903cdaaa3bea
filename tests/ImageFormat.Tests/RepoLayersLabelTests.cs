namespace OstreeContainer.ImageFormat.Tests;

public class RepoLayersLabelTests
{
    [Fact]
    public void Format_ThenParse_RoundTrips()
    {
        var text = RepoLayersLabel.Format([3, 4, 10]);

        Assert.Equal("3,4,10", text);
        Assert.Equal([3, 4, 10], RepoLayersLabel.Parse(text, 11).Order());
    }

    [Theory]
    [InlineData("1,x")]
    [InlineData("1,-2")]
    [InlineData("1,5")]
    public void Parse_NotALayerIndex_NamesTheLabelAndThePart(string text)
    {
        var e = Assert.Throws<InvalidDataException>(() => RepoLayersLabel.Parse(text, 5));

        Assert.Contains(ImageLabelKeys.RepoLayers, e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{text.Split(',')[1]}'", e.Message, StringComparison.Ordinal);
    }
}
