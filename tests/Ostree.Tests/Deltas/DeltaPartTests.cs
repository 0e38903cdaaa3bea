using System.Buffers;
using System.Security.Cryptography;
using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Deltas;

public sealed class DeltaPartTests
{
    [Fact]
    public void EveryPartOfOstreesOwnDeltaDecodesAndReencodesToTheSameBytes()
    {
        var os = Fixtures.OsRepo;
        var name = new DeltaName(Checksum.Parse(os.Commit1), Checksum.Parse(os.Commit2));
        var superblock = DeltaSuperblock.Parse(File.ReadAllBytes(Path.Combine(os.Repo, name.SuperblockPath)));
        Assert.NotEmpty(superblock.Parts);
        for (var i = 0; i < superblock.Parts.Count; i++)
        {
            var file = File.ReadAllBytes(Path.Combine(os.Repo, name.PartPath(i)));
            Assert.Equal(superblock.Parts[i].Checksum, Checksum.FromBytes(SHA256.HashData(file)));
            Assert.Equal((byte)'x', file[0]);
            var payload = DeltaPartFile.Decode(file);
            Assert.NotEmpty(payload.Operations.ToArray());

            // Same payload bytes, and the same xz stream as ostree's encoder wrote.
            Assert.Equal(Xz.Decompress(file.AsSpan(1)), payload.Serialize());
            Assert.Equal(file, DeltaPartFile.Encode(payload, DeltaPartCompression.Xz));
        }
    }

    [Fact]
    public void UncompressedPartsRoundTrip()
    {
        var payload = new DeltaPartPayload(
            [new DeltaPartMode(0, 0, 0x81A4), new DeltaPartMode(1000, 1000, 0xA1FF)],
            [[], [new Xattr("user.a", [1, 2])]],
            new byte[] { 1, 2, 3 },
            new byte[] { (byte)'S', 0, 0, 3, 0 });
        var file = DeltaPartFile.Encode(payload, DeltaPartCompression.None);
        Assert.Equal(0, file[0]);
        var back = DeltaPartFile.Decode(file);
        Assert.Equal(payload.Modes, back.Modes);
        Assert.Equal("user.a", back.Xattrs[1][0].Name);
        Assert.Equal(payload.Blob.ToArray(), back.Blob.ToArray());
        Assert.Equal(payload.Operations.ToArray(), back.Operations.ToArray());
    }

    [Theory]
    [InlineData(new byte[0], "empty")]
    [InlineData(new byte[] { 0x42, 1 }, "unknown compression byte 0x42")]
    [InlineData(new byte[] { (byte)'x', 1, 2, 3 }, "xz:")]
    public void BadPartFilesAreRefusedWithOneLine(byte[] file, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => DeltaPartFile.Decode(file));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void XzRefusesTruncatedCorruptAndOverlongStreams()
    {
        var data = RandomNumberGenerator.GetBytes(100_000);
        var xz = Xz.Compress(data);
        Assert.True(xz.AsSpan().StartsWith(Xz.Magic));
        Assert.Equal(data, Xz.Decompress(xz));
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => Xz.Decompress(xz.AsSpan(0, xz.Length - 10))).Message, StringComparison.Ordinal);
        var corrupt = (byte[])xz.Clone();
        corrupt[xz.Length / 2] ^= 0xFF;
        Assert.Throws<InvalidDataException>(() => Xz.Decompress(corrupt));
        Assert.Contains("more than 99999 bytes", Assert.Throws<InvalidDataException>(() => Xz.Decompress(xz, 99_999)).Message, StringComparison.Ordinal);
        Assert.Contains("after the end", Assert.Throws<InvalidDataException>(() => Xz.Decompress([.. xz, 0])).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(127UL)]
    [InlineData(128UL)]
    [InlineData(300UL)]
    [InlineData(ulong.MaxValue)]
    public void VarintsRoundTrip(ulong value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Varint.Write(buffer, value);
        var position = 0;
        Assert.True(Varint.TryRead(buffer.WrittenSpan, ref position, out var back));
        Assert.Equal(value, back);
        Assert.Equal(buffer.WrittenCount, position);
        var truncated = 0;
        Assert.False(buffer.WrittenCount > 1 && Varint.TryRead(buffer.WrittenSpan[..^1], ref truncated, out _));
    }

    [Fact]
    public void VarintsOver64BitsAreRefused()
    {
        var position = 0;
        Assert.False(Varint.TryRead([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02], ref position, out _));
        Assert.Equal(0, position);
    }
}
