using System.Text;
using OstreeContainer.Oci.Layers;

namespace OstreeContainer.Oci.Tests.Layers;

public class LayerReaderTests
{
    [Theory]
    [MemberData(nameof(LayerWriterTests.Compressions), MemberType = typeof(LayerWriterTests))]
    public void Next_OurSampleLayer_RoundTripsEveryField(LayerCompression compression)
    {
        var bytes = SampleLayer.Bytes(compression);

        var entries = ReadAll(bytes, LayerWriter.MediaTypeFor(compression), out var contents);

        Assert.Equal(23, entries.Count);
        var setuid = entries.Single(e => e.Path == "usr/bin/setuid");
        Assert.Equal((LayerEntryType.File, 0x9ED, 70000L), (setuid.Type, setuid.Mode, setuid.Size));
        Assert.Equal(SampleLayer.Data, contents["usr/bin/setuid"]);
        Assert.Equal(SampleLayer.Mtime, setuid.ModificationTime);
        var big = entries.Single(e => e.Path == "usr/bin/bigids");
        Assert.Equal((3_000_000L, 3_000_001L), (big.Uid, big.Gid));
        var cap = entries.Single(e => e.Path == "usr/bin/cap");
        Assert.Equal(["security.capability", "user.zz"], cap.Xattrs.Select(x => x.Key));
        Assert.Equal(SampleLayer.Capability, cap.Xattrs[0].Value);
        Assert.Equal(SampleLayer.BinaryXattr, cap.Xattrs[1].Value);
        Assert.Equal(LayerEntryType.Directory, entries.Single(e => e.Path == "tmp").Type);
        Assert.Equal(0x3FF, entries.Single(e => e.Path == "tmp").Mode);
        Assert.Equal(SampleLayer.LongTarget, entries.Single(e => e.Path == "usr/bin/longlink").LinkTarget);
        Assert.Equal(SampleLayer.VeryLongName, entries.Single(e => e.Path == "long/hard-to-very-long").LinkTarget);
        Assert.Contains(entries, e => e.Path == SampleLayer.LongName);
        Assert.Empty(contents["usr/bin/empty"]);
    }

    [Theory]
    [MemberData(nameof(LayerWriterTests.Compressions), MemberType = typeof(LayerWriterTests))]
    public void ReadToEndAndComputeDiffId_AfterPartialRead_EqualsTheWritersDiffId(LayerCompression compression)
    {
        using var memory = new MemoryStream();
        LayerResult written;
        using (var writer = new LayerWriter(memory, compression, SampleLayer.Mtime))
        {
            SampleLayer.Write(writer);
            written = writer.Complete();
        }

        using var reader = LayerArchive.Open(new MemoryStream(memory.ToArray()), written.MediaType);
        reader.Next();
        reader.Next();
        reader.Next();

        Assert.Equal(written.DiffId, reader.ReadToEndAndComputeDiffId());
    }

    [Fact]
    public void ReadToEndAndCheckDiffId_OtherDiffId_NamesBoth()
    {
        using var memory = new MemoryStream();
        LayerResult written;
        using (var writer = new LayerWriter(memory, LayerCompression.Gzip, SampleLayer.Mtime))
        {
            SampleLayer.Write(writer);
            written = writer.Complete();
        }

        var other = Digest.Compute("other"u8);
        using var matching = LayerArchive.Open(new MemoryStream(memory.ToArray()), written.MediaType);
        using var reader = LayerArchive.Open(new MemoryStream(memory.ToArray()), written.MediaType);

        matching.ReadToEndAndCheckDiffId(written.DiffId);
        var e = Assert.Throws<InvalidDataException>(() => reader.ReadToEndAndCheckDiffId(other));

        Assert.Equal($"the uncompressed layer hashes to {written.DiffId}, but the config's diff_id is {other}", e.Message);
    }

    [Theory]
    [InlineData("gnu")]
    [InlineData("posix")]
    [InlineData("ustar")]
    public void Next_GnuTarArchive_ReadsNamesLinksAndData(string format)
    {
        var dir = Fixtures.TempDirectory("reader-gnu");
        var tree = Path.Combine(dir, "tree");
        var longName = "d/" + new string('x', 90) + "/" + new string('y', 60);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(tree, longName))!);
        File.WriteAllText(Path.Combine(tree, longName), "long");
        File.WriteAllBytes(Path.Combine(tree, "data"), SampleLayer.Data);
        File.CreateSymbolicLink(Path.Combine(tree, "sym"), "data");
        Peer.Check("tar", $"--format={format}", "-czf", Path.Combine(dir, "t.tgz"), "-C", tree, ".");

        var entries = ReadAll(File.ReadAllBytes(Path.Combine(dir, "t.tgz")), MediaTypes.OciLayerGzip, out var contents);

        Assert.Contains(entries, e => e.Path.Length == 0 && e.Type == LayerEntryType.Directory);
        Assert.Equal("long", Encoding.UTF8.GetString(contents[longName]));
        Assert.Equal(SampleLayer.Data, contents["data"]);
        Assert.Equal("data", entries.Single(e => e.Path == "sym").LinkTarget);
    }

    [Theory]
    [InlineData("../etc/passwd", "'..'")]
    [InlineData("a/../../b", "'..'")]
    [InlineData("/etc/passwd", "absolute")]
    public void Next_EscapingName_ThrowsInvalidData(string name, string expected)
    {
        var tar = RawTar.Concat(RawTar.Header(name, TarFormat.TypeRegular, 0), RawTar.End());

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(tar, MediaTypes.OciLayerTar, out _));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("/etc/shadow")]
    public void Next_HardlinkOutsideLayer_ThrowsInvalidData(string target)
    {
        var tar = RawTar.Concat(RawTar.Header("link", TarFormat.TypeHardLink, 0, target), RawTar.End());

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(tar, MediaTypes.OciLayerTar, out _));

        Assert.Contains("hard link target", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Next_OversizedPaxHeader_ThrowsInvalidDataNamingTheLimit()
    {
        var size = LayerReader.MaxMetadataBytes + 1;
        var tar = RawTar.Concat(RawTar.Header("PaxHeaders/x", TarFormat.TypePaxExtended, size), new byte[size + TarFormat.Padding(size)], RawTar.End());

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(tar, MediaTypes.OciLayerTar, out _));

        Assert.Contains($"{LayerReader.MaxMetadataBytes}-byte limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Next_ManyPaxHeadersAddingUp_ThrowsInvalidData()
    {
        var record = RawTar.PaxRecord("SCHILY.xattr.user.a", new byte[600_000]);
        var pax = RawTar.Concat(RawTar.Header("p", TarFormat.TypePaxExtended, record.Length), record, new byte[TarFormat.Padding(record.Length)]);
        var tar = RawTar.Concat(pax, pax, RawTar.Header("f", TarFormat.TypeRegular, 0), RawTar.End());

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(tar, MediaTypes.OciLayerTar, out _));

        Assert.Contains("limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Next_BadPaxRecordLength_ThrowsInvalidData()
    {
        var record = "99 path=x\n"u8.ToArray();
        var tar = RawTar.Concat(RawTar.Header("p", TarFormat.TypePaxExtended, record.Length), record, new byte[TarFormat.Padding(record.Length)], RawTar.End());

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(tar, MediaTypes.OciLayerTar, out _));

        Assert.Contains("PAX record", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1536 + 100, "inside a file's content")]
    [InlineData(300, "inside a header block")]
    public void Next_TruncatedArchive_ThrowsInvalidData(int keep, string where)
    {
        var bytes = SampleLayer.Bytes(LayerCompression.None, w =>
        {
            w.AddFile("a", new TarEntryMetadata(0x1A4, 0, 0), new byte[10]);
            w.AddFile("b", new TarEntryMetadata(0x1A4, 0, 0), new byte[1000]);
        });

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(bytes[..keep], MediaTypes.OciLayerTar, out _));

        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        Assert.Contains(where, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Next_BadHeaderChecksum_ThrowsInvalidData()
    {
        var bytes = SampleLayer.Bytes(LayerCompression.None, w => w.AddFile("a", new TarEntryMetadata(0x1A4, 0, 0), "x"u8));
        bytes[0] = (byte)'b';

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(bytes, MediaTypes.OciLayerTar, out _));

        Assert.Contains("checksum", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LayerCompression.Gzip, "gzip")]
    [InlineData(LayerCompression.Zstd, "zstd")]
    public void Next_CorruptCompressedStream_ThrowsInvalidDataNamingTheCodec(LayerCompression compression, string codec)
    {
        var bytes = SampleLayer.Bytes(compression);
        for (var i = 4; i < 400; i++)
        {
            bytes[i] ^= 0x5A;
        }

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(bytes, LayerWriter.MediaTypeFor(compression), out _));

        Assert.Contains($"{codec} stream is corrupt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_UnknownMediaType_ThrowsInvalidData()
    {
        var e = Assert.Throws<InvalidDataException>(() => LayerArchive.Open(new MemoryStream(), "application/octet-stream"));

        Assert.Contains("application/octet-stream", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Next_WhiteoutEntries_ExposeTheirTargets()
    {
        var bytes = SampleLayer.Bytes(LayerCompression.None, w =>
        {
            w.AddWhiteout("etc/motd");
            w.AddOpaqueWhiteout("var");
        });

        var entries = ReadAll(bytes, MediaTypes.OciLayerTar, out _);

        Assert.Equal("etc/motd", entries[0].WhiteoutTarget);
        Assert.True(entries[1].IsOpaqueWhiteout);
        Assert.Null(entries[1].WhiteoutTarget);
    }

    [Fact]
    public void Next_WhiteoutOfDotDot_ThrowsInvalidData()
    {
        var tar = RawTar.Concat(RawTar.Header("a/.wh...", TarFormat.TypeRegular, 0), RawTar.End());

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(tar, MediaTypes.OciLayerTar, out _));

        Assert.Contains("whiteout", e.Message, StringComparison.Ordinal);
    }

    internal static List<LayerEntry> ReadAll(byte[] blob, string mediaType, out Dictionary<string, byte[]> contents)
    {
        contents = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var entries = new List<LayerEntry>();
        using var reader = LayerArchive.Open(new MemoryStream(blob), mediaType);
        while (reader.Next() is { } entry)
        {
            entries.Add(entry);
            if (entry.Type == LayerEntryType.File)
            {
                using var copy = new MemoryStream();
                reader.Content.CopyTo(copy);
                contents[entry.Path] = copy.ToArray();
            }
        }

        return entries;
    }

    /// <summary>Hand-made tar pieces for inputs our writer refuses to produce.</summary>
    private static class RawTar
    {
        public static byte[] Header(string name, byte type, long size, string? link = null)
        {
            var h = new byte[TarFormat.BlockSize];
            Encoding.UTF8.GetBytes(name).CopyTo(h, TarFormat.NameOffset);
            Octal(h, TarFormat.ModeOffset, 8, 0x1A4);
            Octal(h, TarFormat.UidOffset, 8, 0);
            Octal(h, TarFormat.GidOffset, 8, 0);
            Octal(h, TarFormat.SizeOffset, 12, size);
            Octal(h, TarFormat.MtimeOffset, 12, 0);
            h[TarFormat.TypeFlagOffset] = type;
            if (link is not null)
            {
                Encoding.UTF8.GetBytes(link).CopyTo(h, TarFormat.LinkNameOffset);
            }

            TarFormat.UstarMagic.CopyTo(h.AsSpan(TarFormat.MagicOffset));
            TarFormat.UstarVersion.CopyTo(h.AsSpan(TarFormat.VersionOffset));
            h.AsSpan(TarFormat.ChecksumOffset, 8).Fill((byte)' ');
            Octal(h, TarFormat.ChecksumOffset, 7, h.Sum(b => b));
            return h;
        }

        public static byte[] PaxRecord(string key, byte[] value)
        {
            var body = Encoding.UTF8.GetBytes($" {key}=").Concat(value).Append((byte)'\n').ToArray();
            var length = body.Length + 1;
            while (length != body.Length + length.ToString(System.Globalization.CultureInfo.InvariantCulture).Length)
            {
                length++;
            }

            return Encoding.ASCII.GetBytes(length.ToString(System.Globalization.CultureInfo.InvariantCulture)).Concat(body).ToArray();
        }

        public static byte[] End() => new byte[2 * TarFormat.BlockSize];

        public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

        private static void Octal(byte[] h, int offset, int width, long value) =>
            Encoding.ASCII.GetBytes(Convert.ToString(value, 8).PadLeft(width - 1, '0')).CopyTo(h, offset);
    }
}
