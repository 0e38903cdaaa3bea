using OstreeContainer.Oci.Layers;

namespace OstreeContainer.Oci.Tests.Layers;

public class LayerWriterTests
{
    public static TheoryData<LayerCompression> Compressions => [LayerCompression.None, LayerCompression.Gzip, LayerCompression.Zstd];

    [Theory]
    [MemberData(nameof(Compressions))]
    public void Complete_GnuTarListing_ShowsModesOwnersLinksAndLongNames(LayerCompression compression)
    {
        var dir = Fixtures.TempDirectory("layer-list");
        var blob = Path.Combine(dir, "layer");
        SampleLayer.WriteTo(blob, compression);

        // GNU tar detects gzip and zstd from the data.
        var listing = Peer.Check("tar", "-tvv", "--numeric-owner", "-f", blob);

        Assert.Contains("-rwsr-xr-x 0/0           70000 2024-05-06 07:08 usr/bin/setuid", listing, StringComparison.Ordinal);
        Assert.Contains("-rw-r--r-- 1000/2000         6 2024-05-06 07:08 usr/bin/owned", listing, StringComparison.Ordinal);
        Assert.Contains("-rw-r--r-- 3000000/3000001", listing, StringComparison.Ordinal);
        Assert.Contains("-rw------- 0/0               0 2024-05-06 07:08 usr/bin/empty", listing, StringComparison.Ordinal);
        Assert.Contains("drwxrwxrwt 0/0               0 2024-05-06 07:08 tmp/", listing, StringComparison.Ordinal);
        Assert.Contains("usr/bin/link -> setuid", listing, StringComparison.Ordinal);
        Assert.Contains("usr/bin/longlink -> " + SampleLayer.LongTarget, listing, StringComparison.Ordinal);
        Assert.Contains("usr/bin/hard link to usr/bin/owned", listing, StringComparison.Ordinal);
        Assert.Contains(" " + SampleLayer.LongName + "\n", listing, StringComparison.Ordinal);
        Assert.Contains(" " + SampleLayer.VeryLongName + "\n", listing, StringComparison.Ordinal);
        Assert.Contains("long/hard-to-very-long link to " + SampleLayer.VeryLongName, listing, StringComparison.Ordinal);
        Assert.DoesNotContain("PaxHeaders", listing, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Compressions))]
    public void Complete_GnuTarExtract_GivesExactBytesModesOwnersXattrs(LayerCompression compression)
    {
        var dir = Fixtures.TempDirectory("layer-x");
        var blob = Path.Combine(dir, "layer");
        var root = Path.Combine(dir, "root");
        Directory.CreateDirectory(root);
        SampleLayer.WriteTo(blob, compression);

        // As root: -p keeps modes, ownership is kept by default, xattrs need both flags.
        Peer.Check("tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf", blob, "-C", root);

        Assert.Equal(SampleLayer.Data, File.ReadAllBytes(Path.Combine(root, "usr/bin/setuid")));
        Assert.Equal(SampleLayer.Data, File.ReadAllBytes(Path.Combine(root, "usr/bin/streamed")));
        Assert.Empty(File.ReadAllBytes(Path.Combine(root, "usr/bin/empty")));
        Assert.Equal(SampleLayer.Hello, File.ReadAllBytes(Path.Combine(root, SampleLayer.VeryLongName)));
        Assert.Equal("ü", File.ReadAllText(Path.Combine(root, "usr/bin/ünïcode")));
        Assert.Equal("4755 0:0", Stat(root, "usr/bin/setuid"));
        Assert.Equal("644 1000:2000", Stat(root, "usr/bin/owned"));
        Assert.Equal("644 3000000:3000001", Stat(root, "usr/bin/bigids"));
        Assert.Equal("1777 0:0", Stat(root, "tmp"));
        Assert.Equal("setuid", new FileInfo(Path.Combine(root, "usr/bin/link")).LinkTarget);
        Assert.Equal(SampleLayer.LongTarget, new FileInfo(Path.Combine(root, "usr/bin/longlink")).LinkTarget);
        Assert.Equal(Inode(root, "usr/bin/owned"), Inode(root, "usr/bin/hard"));
        Assert.Equal(Inode(root, SampleLayer.VeryLongName), Inode(root, "long/hard-to-very-long"));
        Assert.Equal(File.GetLastWriteTimeUtc(Path.Combine(root, "usr/bin/owned")), SampleLayer.Mtime.UtcDateTime);

        var xattrs = Peer.Check("getfattr", "-d", "-m", "-", "-e", "hex", Path.Combine(root, "usr/bin/cap"));
        Assert.Contains("security.capability=0x" + Convert.ToHexStringLower(SampleLayer.Capability), xattrs, StringComparison.Ordinal);
        Assert.Contains("user.zz=0x" + Convert.ToHexStringLower(SampleLayer.BinaryXattr), xattrs, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Compressions))]
    public void Complete_SameCallsTwice_GiveIdenticalBytesAndDigestsMatchSha256sum(LayerCompression compression)
    {
        var dir = Fixtures.TempDirectory("layer-det");
        var first = SampleLayer.WriteTo(Path.Combine(dir, "a"), compression);
        var second = SampleLayer.WriteTo(Path.Combine(dir, "b"), compression);

        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "a")), File.ReadAllBytes(Path.Combine(dir, "b")));
        Assert.Equal(first, second);
        Assert.Equal(LayerWriter.MediaTypeFor(compression), first.MediaType);
        Assert.Equal(new FileInfo(Path.Combine(dir, "a")).Length, first.Size);
        Assert.Equal("sha256:" + Sha256sum($"sha256sum '{dir}/a'"), first.Digest.ToString());
        var decompress = compression switch
        {
            LayerCompression.Gzip => $"zcat '{dir}/a'",
            LayerCompression.Zstd => $"zstd -dc '{dir}/a'",
            _ => $"cat '{dir}/a'",
        };
        Assert.Equal("sha256:" + Sha256sum(decompress + " | sha256sum"), first.DiffId.ToString());
        Assert.Equal(long.Parse(Peer.Check("bash", "-c", decompress + " | wc -c").Trim(), System.Globalization.CultureInfo.InvariantCulture), first.UncompressedSize);
        Assert.Equal(23, first.Entries);
        if (compression == LayerCompression.None)
        {
            Assert.Equal(first.Digest, first.DiffId);
        }
    }

    [Fact]
    public void Complete_Zstd_PassesZstdIntegrityTest()
    {
        var dir = Fixtures.TempDirectory("layer-zt");
        SampleLayer.WriteTo(Path.Combine(dir, "a"), LayerCompression.Zstd);

        var output = Peer.Run("zstd", ["-lv", Path.Combine(dir, "a")]).EnsureSuccess("zstd -lv");

        Assert.Contains("XXH64", output.Stdout + output.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Complete_TinyTarLayer_HasPinnedDiffId()
    {
        // Pinned: a change here changes every layer digest this project has published.
        var bytes = SampleLayer.Bytes(LayerCompression.None, w =>
        {
            w.AddDirectory("etc", new TarEntryMetadata(0x1ED, 0, 0));
            w.AddFile("etc/hostname", new TarEntryMetadata(0x1A4, 0, 0), "ostree\n"u8);
        });

        Assert.Equal(5 * 512, bytes.Length); // two headers, one data block, two end blocks
        Assert.Equal(PinnedTinyDiffId, Digest.Compute(bytes).ToString());
    }

    [Theory]
    [InlineData(LayerCompression.Gzip, 0)]
    [InlineData(LayerCompression.Gzip, 9)]
    [InlineData(LayerCompression.Zstd, 1)]
    [InlineData(LayerCompression.Zstd, 19)]
    public void Complete_ExplicitLevels_DecompressToTheSameTar(LayerCompression compression, int level)
    {
        var dir = Fixtures.TempDirectory("layer-lvl");
        var byDefault = SampleLayer.WriteTo(Path.Combine(dir, "a"), compression);
        var byLevel = SampleLayer.WriteTo(Path.Combine(dir, "b"), compression, level);

        Assert.Equal(byDefault.DiffId, byLevel.DiffId);
        Assert.NotEqual(byDefault.Digest, byLevel.Digest);
    }

    [Theory]
    [InlineData("/abs")]
    [InlineData("a/../b")]
    [InlineData("..")]
    [InlineData("a//b")]
    [InlineData("./a")]
    [InlineData("")]
    [InlineData("a/")]
    public void AddFile_BadPath_ThrowsArgumentExceptionNamingIt(string path)
    {
        using var writer = new LayerWriter(Stream.Null, LayerCompression.None, SampleLayer.Mtime);

        var e = Assert.ThrowsAny<ArgumentException>(() => writer.AddFile(path, new TarEntryMetadata(0x1A4, 0, 0), "x"u8));

        Assert.Contains($"'{path}'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3, "ended after 3 bytes")]
    [InlineData(9, "longer than")]
    public void AddFile_StreamLengthDiffers_ThrowsInvalidDataAndRefusesToComplete(int actual, string expected)
    {
        using var writer = new LayerWriter(Stream.Null, LayerCompression.Gzip, SampleLayer.Mtime);
        using var content = new MemoryStream(new byte[actual]);

        var e = Assert.Throws<InvalidDataException>(() => writer.AddFile("f", new TarEntryMetadata(0x1A4, 0, 0), 5, content));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("'f'", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => writer.Complete());
    }

    [Fact]
    public void AddHardlink_TargetNotInLayer_Throws()
    {
        using var writer = new LayerWriter(Stream.Null, LayerCompression.None, SampleLayer.Mtime);
        writer.AddDirectory("d", SampleLayer.Dir());

        Assert.Throws<ArgumentException>(() => writer.AddHardlink("x", "missing", new TarEntryMetadata(0x1A4, 0, 0)));
        Assert.Throws<ArgumentException>(() => writer.AddHardlink("x", "d", new TarEntryMetadata(0x1A4, 0, 0)));
    }

    [Fact]
    public void AddFile_XattrsOverTheReadersLimit_ThrowsArgumentException()
    {
        using var writer = new LayerWriter(Stream.Null, LayerCompression.None, SampleLayer.Mtime);
        var huge = new TarEntryMetadata(0x1A4, 0, 0, [new("user.big", new byte[LayerReader.MaxMetadataBytes])]);

        var e = Assert.Throws<ArgumentException>(() => writer.AddFile("f", huge, "x"u8));

        Assert.Contains("limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddFile_ModeWithTypeBits_Throws()
    {
        using var writer = new LayerWriter(Stream.Null, LayerCompression.None, SampleLayer.Mtime);

        Assert.Throws<ArgumentOutOfRangeException>(() => writer.AddFile("f", new TarEntryMetadata(0x81A4, 0, 0), "x"u8));
    }

    [Fact]
    public void AddWhiteout_WritesOciWhiteoutNames()
    {
        var bytes = SampleLayer.Bytes(LayerCompression.None, w =>
        {
            w.AddWhiteout("etc/motd");
            w.AddWhiteout("top");
            w.AddOpaqueWhiteout("var/cache/");
        });
        var dir = Fixtures.TempDirectory("layer-wh");
        File.WriteAllBytes(Path.Combine(dir, "t"), bytes);

        var names = Peer.Check("tar", "-tf", Path.Combine(dir, "t")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(["etc/.wh.motd", ".wh.top", "var/cache/.wh..wh..opq"], names);
    }

    [Fact]
    public void Complete_Gzip_HeaderHasNoTimestamp()
    {
        var bytes = SampleLayer.Bytes(LayerCompression.Gzip);

        Assert.Equal([0x1F, 0x8B, 0x08], bytes[..3]);
        Assert.Equal([0, 0, 0, 0], bytes[4..8]);
    }

    [Fact]
    public void Complete_TinyTarLayer_IsByteIdenticalToPythonTarfileUstar()
    {
        var bytes = SampleLayer.Bytes(LayerCompression.None, w =>
        {
            w.AddDirectory("etc", new TarEntryMetadata(0x1ED, 0, 0));
            w.AddFile("etc/hostname", new TarEntryMetadata(0x1A4, 0, 0), "ostree\n"u8);
        });
        const string Script = """
            import tarfile, io, sys
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode='w', format=tarfile.USTAR_FORMAT) as t:
                for name, typ, mode, data in [('etc/', tarfile.DIRTYPE, 0o755, b''), ('etc/hostname', tarfile.REGTYPE, 0o644, b'ostree\n')]:
                    i = tarfile.TarInfo(name); i.type = typ; i.mode = mode; i.mtime = 1714979289
                    i.uname = ''; i.gname = ''; i.size = len(data)
                    t.addfile(i, io.BytesIO(data))
            sys.stdout.write(buf.getvalue()[:2560].hex())
            """;

        // tarfile pads the archive to a 10 KiB record; the first five blocks are the entries and the end marker.
        var python = Peer.Check("python3", "-c", Script).Trim();

        Assert.Equal(python, Convert.ToHexStringLower(bytes));
    }

    private const string PinnedTinyDiffId = "sha256:6ee9a0b76a3569c8b721dcd9a4737d0f5b83c5a5e4d555776ae68d63eea34e69";

    private static string Stat(string root, string path) =>
        Peer.Check("stat", "-c", "%a %u:%g", Path.Combine(root, path)).Trim();

    private static string Inode(string root, string path) =>
        Peer.Check("stat", "-c", "%i", Path.Combine(root, path)).Trim();

    private static string Sha256sum(string command) =>
        Peer.Check("bash", "-c", command).Split(' ')[0];
}
