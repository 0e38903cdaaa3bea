using OstreeContainer.RepoWebserver.Serving;

namespace OstreeContainer.RepoWebserver.Tests.Serving;

/// <summary>Range header interpretation (RFC 9110 §14.1.2) for a 100-byte representation.</summary>
public class HttpRangeTests
{
    [Theory]
    [InlineData("bytes=0-9", 0, 10)]
    [InlineData("bytes=90-", 90, 10)]
    [InlineData("bytes=-5", 95, 5)]
    [InlineData("bytes=-500", 0, 100)]
    [InlineData("bytes=50-5000", 50, 50)]
    [InlineData("bytes=99-99", 99, 1)]
    [InlineData("BYTES=0-0", 0, 1)]
    [InlineData("bytes= 3 - 4 ", 3, 2)]
    public void Parse_SatisfiableRange_IsPartial(string header, long start, long length)
    {
        Assert.Equal(HttpRange.Result.Partial, HttpRange.Parse(header, 100, out var range));
        Assert.Equal(new HttpRange(start, length), range);
    }

    [Theory]
    [InlineData("bytes=100-")]
    [InlineData("bytes=100-200")]
    [InlineData("bytes=-0")]
    public void Parse_RangeBeyondTheEnd_IsUnsatisfiable(string header)
    {
        Assert.Equal(HttpRange.Result.Unsatisfiable, HttpRange.Parse(header, 100, out _));
    }

    [Fact]
    public void Parse_AnyRangeOfEmptyFile_IsUnsatisfiable()
    {
        Assert.Equal(HttpRange.Result.Unsatisfiable, HttpRange.Parse("bytes=0-", 0, out _));
        Assert.Equal(HttpRange.Result.Unsatisfiable, HttpRange.Parse("bytes=-1", 0, out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("bytes=0-1,5-6")]
    [InlineData("bytes=5-2")]
    [InlineData("bytes=x-")]
    [InlineData("bytes=-x")]
    [InlineData("bytes=")]
    [InlineData("bytes=5")]
    [InlineData("bytes=+5-6")]
    [InlineData("bytes=-+5")]
    [InlineData("lines=0-1")]
    [InlineData("bytes=99999999999999999999-")]
    public void Parse_MultipleOrMalformed_IsFull(string? header)
    {
        Assert.Equal(HttpRange.Result.Full, HttpRange.Parse(header, 100, out _));
    }
}
