namespace OstreeContainer.Oci.Tests;

public class VerifyingStreamTests
{
    private static readonly byte[] Content = "trusted content"u8.ToArray();

    [Fact]
    public void Read_MatchingContent_VerifiesAtEnd()
    {
        using var stream = new VerifyingStream(new MemoryStream(Content), Digest.Compute(Content), Content.Length);
        using var copy = new MemoryStream();

        stream.CopyTo(copy);

        Assert.True(stream.IsVerified);
        Assert.Equal(Content, copy.ToArray());
    }

    [Fact]
    public void Read_TamperedContent_ThrowsAtEndNamingBothDigests()
    {
        var tampered = Content.ToArray();
        tampered[3] ^= 1;
        using var stream = new VerifyingStream(new MemoryStream(tampered), Digest.Compute(Content), Content.Length);

        var e = Assert.Throws<InvalidDataException>(() => stream.CopyTo(Stream.Null));

        Assert.Contains(Digest.Compute(Content).ToString(), e.Message, StringComparison.Ordinal);
        Assert.Contains(Digest.Compute(tampered).ToString(), e.Message, StringComparison.Ordinal);
        Assert.False(stream.IsVerified);
    }

    [Theory]
    [InlineData(-1, "bytes, expected")]
    [InlineData(1, "more than the expected")]
    public void Read_WrongLength_ThrowsInvalidData(int delta, string expected)
    {
        var data = delta < 0 ? Content[..^1] : [.. Content, 0];
        using var stream = new VerifyingStream(new MemoryStream(data), Digest.Compute(Content), Content.Length);

        var e = Assert.Throws<InvalidDataException>(() => stream.CopyTo(Stream.Null));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_TamperedContent_ThrowsInvalidData()
    {
        var tampered = Content.Reverse().ToArray();
        await using var stream = new VerifyingStream(new MemoryStream(tampered), Digest.Compute(Content), Content.Length);

        await Assert.ThrowsAsync<InvalidDataException>(() => stream.CopyToAsync(Stream.Null, TestContext.Current.CancellationToken));
    }
}
