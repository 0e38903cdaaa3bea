using System.Formats.Tar;
using System.Text;

namespace OstreeContainer.ImagePuller.Tests.Derived;

/// <summary>
/// Builds layer tars in code with the runtime's PAX writer, which (unlike our
/// <c>LayerWriter</c>) writes anything: the root entry, hard links to lower layers, device
/// nodes, escaping names and raw PAX records.
/// </summary>
internal sealed class TestLayer
{
    private readonly MemoryStream _stream = new();
    private readonly TarWriter _writer;

    public TestLayer()
    {
        _writer = new TarWriter(_stream, TarEntryFormat.Pax, leaveOpen: true);
    }

    public TestLayer Dir(string path, int mode = 0x1ED, int uid = 0, int gid = 0, params (string Name, string Value)[] xattrs) =>
        Add(TarEntryType.Directory, path.Length == 0 ? "./" : path + "/", mode, uid, gid, xattrs);

    public TestLayer File(string path, string content, int mode = 0x1A4, int uid = 0, int gid = 0, params (string Name, string Value)[] xattrs) =>
        File(path, Encoding.UTF8.GetBytes(content), mode, uid, gid, xattrs);

    public TestLayer File(string path, byte[] content, int mode = 0x1A4, int uid = 0, int gid = 0, params (string Name, string Value)[] xattrs) =>
        Add(TarEntryType.RegularFile, path, mode, uid, gid, xattrs, data: content);

    public TestLayer Symlink(string path, string target, int uid = 0, int gid = 0) =>
        Add(TarEntryType.SymbolicLink, path, 0x1FF, uid, gid, [], link: target);

    public TestLayer Hardlink(string path, string target) =>
        Add(TarEntryType.HardLink, path, 0x1A4, 0, 0, [], link: target);

    /// <summary>Deletes <paramref name="path"/> from lower layers (<c>dir/.wh.name</c>).</summary>
    public TestLayer Whiteout(string path)
    {
        var slash = path.LastIndexOf('/');
        return Add(TarEntryType.RegularFile, path[..(slash + 1)] + ".wh." + path[(slash + 1)..], 0x1A4, 0, 0, []);
    }

    /// <summary>Hides lower layers' children of <paramref name="dir"/> (<c>dir/.wh..wh..opq</c>).</summary>
    public TestLayer Opaque(string dir) =>
        Add(TarEntryType.RegularFile, (dir.Length == 0 ? "" : dir + "/") + ".wh..wh..opq", 0x1A4, 0, 0, []);

    /// <summary>Any entry, named as given (no checks).</summary>
    public TestLayer Raw(TarEntryType type, string name, string? link = null, IEnumerable<KeyValuePair<string, string>>? pax = null)
    {
        var entry = new PaxTarEntry(type, name, pax ?? []) { Mode = (UnixFileMode)0x1A4 };
        if (link is not null)
        {
            entry.LinkName = link;
        }

        if (type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice)
        {
            entry.DeviceMajor = 1;
            entry.DeviceMinor = 3;
        }

        _writer.WriteEntry(entry);
        return this;
    }

    public byte[] Bytes()
    {
        _writer.Dispose();
        return _stream.ToArray();
    }

    private TestLayer Add(TarEntryType type, string name, int mode, int uid, int gid, (string Name, string Value)[] xattrs, byte[]? data = null, string? link = null)
    {
        var pax = xattrs.Select(x => new KeyValuePair<string, string>("SCHILY.xattr." + x.Name, x.Value));
        var entry = new PaxTarEntry(type, name, pax)
        {
            Mode = (UnixFileMode)mode,
            Uid = uid,
            Gid = gid,
            ModificationTime = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
        };
        if (link is not null)
        {
            entry.LinkName = link;
        }

        if (data is not null)
        {
            entry.DataStream = new MemoryStream(data);
        }

        _writer.WriteEntry(entry);
        return this;
    }
}

/// <summary>Tar headers written byte by byte, for what no tar writer produces.</summary>
internal static class RawTar
{
    public static byte[] Header(byte[] name, byte type, long size, long uid = 0)
    {
        var h = new byte[512];
        name.CopyTo(h, 0);
        Octal(h, 100, 8, 0x1A4);
        Octal(h, 108, 8, uid);
        Octal(h, 116, 8, 0);
        if (size > 0x1_FFFF_FFFF)
        {
            // GNU base-256: high bit set, big-endian value in the remaining 11 bytes.
            h[124] = 0x80;
            for (var i = 0; i < 8; i++)
            {
                h[135 - i] = (byte)(size >> (8 * i));
            }
        }
        else
        {
            Octal(h, 124, 12, size);
        }

        Octal(h, 136, 12, 1704067200);
        h[156] = type;
        "ustar\000"u8.CopyTo(h.AsSpan(257));
        h.AsSpan(148, 8).Fill((byte)' ');
        var sum = h.Sum(b => (long)b);
        Octal(h, 148, 7, sum);
        return h;
    }

    /// <summary>A PAX extended header ('x') holding <paramref name="records"/>, for the entry that follows.</summary>
    public static byte[] Pax(params (string Key, string Value)[] records)
    {
        var data = new StringBuilder();
        foreach (var (key, value) in records)
        {
            var body = $" {key}={value}\n";
            var length = body.Length + 1;
            while ((length.ToString(System.Globalization.CultureInfo.InvariantCulture) + body).Length != length)
            {
                length++;
            }

            data.Append(length.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(body);
        }

        var bytes = Encoding.UTF8.GetBytes(data.ToString());
        return Concat(Header("PaxHeaders/x"u8.ToArray(), (byte)'x', bytes.Length), Block(bytes));
    }

    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    public static byte[] Block(byte[] data)
    {
        var b = new byte[(data.Length + 511) / 512 * 512];
        data.CopyTo(b, 0);
        return b;
    }

    public static byte[] End() => new byte[1024];

    private static void Octal(byte[] h, int offset, int width, long value)
    {
        var text = Convert.ToString(value, 8).PadLeft(width - 1, '0');
        Encoding.ASCII.GetBytes(text).CopyTo(h, offset);
        h[offset + width - 1] = 0;
    }
}
