using System.Text;
using OstreeContainer.Oci.Layers;

namespace OstreeContainer.Oci.Tests.Layers;

/// <summary>A layer exercising every feature the writer has, with the facts tests check.</summary>
internal static class SampleLayer
{
    public static readonly DateTimeOffset Mtime = new(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);

    // security.capability v2 for cap_net_bind_service=ep: magic|effective, permitted bit 10 (the kernel validates the struct).
    public static readonly byte[] Capability = Convert.FromHexString("0100000200040000000000000000000000000000");

    // Binary on purpose: NUL, high bytes, '\n' and '='.
    public static readonly byte[] BinaryXattr = [0x00, 0xFF, 0x0A, 0x3D, 0x80, 0x01];

    public static readonly string LongName = "long/" + new string('n', 120);            // > 100 bytes
    public static readonly string VeryLongName = "deep/" + string.Join('/', Enumerable.Repeat(new string('d', 60), 5)) + "/file.txt"; // > 255
    public static readonly string LongTarget = "/usr/" + new string('t', 150);            // > 100 bytes
    public static readonly byte[] Data = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31 % 251)).ToArray();
    public static readonly byte[] Hello = "hello\n"u8.ToArray();

    public static TarEntryMetadata Dir(int mode = 0x1ED) => new(mode, 0, 0);

    public static void Write(LayerWriter w)
    {
        w.AddDirectory("usr", Dir());
        w.AddDirectory("usr/bin/", Dir());
        w.AddFile("usr/bin/setuid", new TarEntryMetadata(0x9ED, 0, 0), Data);                     // 04755
        w.AddFile("usr/bin/owned", new TarEntryMetadata(0x1A4, 1000, 2000), Hello);               // 0644
        w.AddFile("usr/bin/bigids", new TarEntryMetadata(0x1A4, 3_000_000, 3_000_001), Hello);    // ids beyond 07777777 → PAX
        w.AddFile("usr/bin/empty", new TarEntryMetadata(0x180, 0, 0), ReadOnlySpan<byte>.Empty);  // 0600
        using (var stream = new MemoryStream(Data))
        {
            w.AddFile("usr/bin/streamed", new TarEntryMetadata(0x1ED, 0, 0), Data.Length, stream);
        }

        w.AddFile("usr/bin/cap", new TarEntryMetadata(0x1ED, 0, 0, [new("user.zz", BinaryXattr), new("security.capability", Capability)]), Hello);
        w.AddDirectory("tmp", Dir(0x3FF));                                                        // 01777
        w.AddSymlink("usr/bin/link", "setuid", new TarEntryMetadata(0x1FF, 0, 0));
        w.AddSymlink("usr/bin/longlink", LongTarget, new TarEntryMetadata(0x1FF, 0, 0));
        w.AddHardlink("usr/bin/hard", "usr/bin/owned", new TarEntryMetadata(0x1A4, 1000, 2000));
        w.AddDirectory("long", Dir());
        w.AddFile(LongName, new TarEntryMetadata(0x1A4, 0, 0), Hello);
        var dir = VeryLongName[..VeryLongName.LastIndexOf('/')];
        var parts = dir.Split('/');
        for (var i = 1; i <= parts.Length; i++)
        {
            w.AddDirectory(string.Join('/', parts[..i]), Dir());
        }

        w.AddFile(VeryLongName, new TarEntryMetadata(0x1A4, 0, 0), Hello);
        w.AddHardlink("long/hard-to-very-long", VeryLongName, new TarEntryMetadata(0x1A4, 0, 0));
        w.AddFile("usr/bin/ünïcode", new TarEntryMetadata(0x1A4, 0, 0), Encoding.UTF8.GetBytes("ü"));
    }

    /// <summary>Writes the sample with <paramref name="compression"/> into <paramref name="path"/>.</summary>
    public static LayerResult WriteTo(string path, LayerCompression compression, int level = -1)
    {
        using var file = File.Create(path);
        using var writer = new LayerWriter(file, compression, Mtime, level);
        Write(writer);
        return writer.Complete();
    }

    public static byte[] Bytes(LayerCompression compression, Action<LayerWriter>? write = null)
    {
        using var memory = new MemoryStream();
        using (var writer = new LayerWriter(memory, compression, Mtime))
        {
            (write ?? Write)(writer);
            writer.Complete();
        }

        return memory.ToArray();
    }
}
