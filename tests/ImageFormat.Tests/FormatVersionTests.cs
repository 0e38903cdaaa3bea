namespace OstreeContainer.ImageFormat.Tests;

public class FormatVersionTests
{
    [Fact]
    public void Of_NoLabel_IsVersion1()
    {
        Assert.Equal(new FormatVersion(1, 0), FormatVersion.Of(new Dictionary<string, string>()));
        Assert.Equal(new FormatVersion(1, 0), FormatVersion.EnsureReadable(new Dictionary<string, string>()));
    }

    [Fact]
    public void Current_IsWrittenAsMajorDotMinor_AndReadBack()
    {
        var labels = new Dictionary<string, string> { [ImageLabelKeys.Format] = FormatVersion.Current.ToString() };

        Assert.Equal("1.3", FormatVersion.Current.ToString());
        Assert.Equal(FormatVersion.Current, FormatVersion.EnsureReadable(labels));
    }

    [Fact]
    public void EnsureReadable_NewerMinor_IsAccepted()
    {
        var labels = new Dictionary<string, string> { [ImageLabelKeys.Format] = "1.7" };

        Assert.Equal(new FormatVersion(1, 7), FormatVersion.EnsureReadable(labels));
    }

    [Fact]
    public void EnsureReadable_NewerMajor_RefusedInOneLineNamingTheLabel()
    {
        var labels = new Dictionary<string, string> { [ImageLabelKeys.Format] = "2.0" };

        var e = Assert.Throws<InvalidDataException>(() => FormatVersion.EnsureReadable(labels));

        Assert.Contains("ostree.container.format", e.Message, StringComparison.Ordinal);
        Assert.Contains("2.0", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("one.zero")]
    [InlineData("1.")]
    [InlineData("-1.0")]
    public void Of_Malformed_NamesTheLabel(string text)
    {
        var labels = new Dictionary<string, string> { [ImageLabelKeys.Format] = text };

        var e = Assert.Throws<InvalidDataException>(() => FormatVersion.Of(labels));

        Assert.Contains(ImageLabelKeys.Format, e.Message, StringComparison.Ordinal);
    }
}
