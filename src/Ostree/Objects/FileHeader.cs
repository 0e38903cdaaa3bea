using System.Buffers.Binary;
using System.Security.Cryptography;
using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Objects;

/// <summary>
/// The metadata of a content object (§2.8): owner, full mode, symlink target, xattrs.
/// Its checksum covers <c>BE32(len H) ‖ 4 zero bytes ‖ H ‖ content</c>, where H is the
/// <c>(uuuusa(ayay))</c> serialisation; the 4 zero bytes make H start 8-aligned.
/// </summary>
public sealed record FileHeader(uint Uid, uint Gid, uint Mode, string SymlinkTarget, IReadOnlyList<Xattr> Xattrs)
{
    /// <summary>Longest symlink target accepted (PATH_MAX).</summary>
    public const int MaxSymlinkTarget = 4096;

    /// <summary>Bytes before the header variant: BE32 length, then 4 bytes of padding.</summary>
    public const int PrefixLength = 8;

    /// <summary>Whether this is a symlink (otherwise a regular file).</summary>
    public bool IsSymlink => StatMode.IsSymlink(Mode);

    /// <summary>A regular file header.</summary>
    public static FileHeader Regular(uint uid, uint gid, uint mode, IReadOnlyList<Xattr>? xattrs = null) =>
        new(uid, gid, StatMode.Regular | (mode & StatMode.PermissionMask), "", xattrs ?? []);

    /// <summary>A symlink header (mode 0120777, as every Linux symlink has).</summary>
    public static FileHeader Symlink(uint uid, uint gid, string target, IReadOnlyList<Xattr>? xattrs = null) =>
        new(uid, gid, StatMode.Symlink | 0x1FF, target, xattrs ?? []);

    /// <summary>Checks the rules libostree enforces on file headers.</summary>
    /// <exception cref="InvalidDataException">Not a regular file or symlink, or inconsistent target.</exception>
    public void Validate()
    {
        if (StatMode.HasOnly(Mode, StatMode.Regular))
        {
            if (SymlinkTarget.Length != 0)
            {
                throw new InvalidDataException("symlink-target: set on a regular file");
            }
        }
        else if (StatMode.HasOnly(Mode, StatMode.Symlink))
        {
            if (SymlinkTarget.Length == 0 || SymlinkTarget.Length > MaxSymlinkTarget)
            {
                throw new InvalidDataException($"symlink-target: length {SymlinkTarget.Length} is not in 1..{MaxSymlinkTarget}");
            }
        }
        else
        {
            throw new InvalidDataException($"mode: 0{Convert.ToString(Mode, 8)} is neither a regular file nor a symlink");
        }
    }

    /// <summary>Appends the checksummed header (length prefix, padding, variant) to <paramref name="writer"/>.</summary>
    public void WriteContentHeader(GVariantWriter writer) => WritePrefixed(writer, archiveSize: null);

    /// <summary>Appends the <c>.filez</c> header, which adds the uncompressed size as its first field.</summary>
    public void WriteArchiveHeader(GVariantWriter writer, ulong size) => WritePrefixed(writer, size);

    /// <summary>The checksummed header as a new array.</summary>
    public byte[] ToContentHeader()
    {
        using var writer = new GVariantWriter();
        WriteContentHeader(writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Checksum of this header with the given content (empty for symlinks).</summary>
    public Checksum ComputeChecksum(ReadOnlySpan<byte> content)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(ToContentHeader());
        hash.AppendData(content);
        return Checksum.From(hash);
    }

    /// <summary>The bare-user <c>user.ostreemeta</c> xattr value: <c>(uuua(ayay))</c> with uid, gid, mode BE.</summary>
    public byte[] ToBareUserMeta() => GVariantWriter.Encode(ObjectFormats.BareUserMeta, new object[]
    {
        BinaryPrimitives.ReverseEndianness(Uid),
        BinaryPrimitives.ReverseEndianness(Gid),
        BinaryPrimitives.ReverseEndianness(Mode),
        Xattr.ToValue(Xattrs),
    });

    /// <summary>
    /// Parses a bare-user <c>user.ostreemeta</c> value. A symlink's target is the object's
    /// file content; <paramref name="readSymlinkTarget"/> is called only for symlinks.
    /// </summary>
    public static FileHeader FromBareUserMeta(ReadOnlySpan<byte> meta, Func<string> readSymlinkTarget)
    {
        ArgumentNullException.ThrowIfNull(readSymlinkTarget);
        var v = (object[])GVariantReader.DecodeNormalNamed(ObjectFormats.BareUserMeta, meta, ObjectFormats.DirMetaNames);
        var mode = BinaryPrimitives.ReverseEndianness((uint)v[2]);
        var header = new FileHeader(
            BinaryPrimitives.ReverseEndianness((uint)v[0]),
            BinaryPrimitives.ReverseEndianness((uint)v[1]),
            mode,
            StatMode.IsSymlink(mode) ? readSymlinkTarget() : "",
            DirMeta.WithField("xattrs", () => Xattr.FromValue(v[3])));
        header.Validate();
        return header;
    }

    /// <summary>
    /// Parses the start of a <c>.filez</c> object: BE32 length L, 4 padding bytes, then the
    /// <c>(tuuuusa(ayay))</c> header. Returns the header; <paramref name="size"/> is the
    /// declared uncompressed size, <paramref name="payloadOffset"/> where the raw-deflate
    /// stream starts (8 + L).
    /// </summary>
    /// <exception cref="InvalidDataException">Malformed header.</exception>
    public static FileHeader ParseArchive(ReadOnlySpan<byte> data, out ulong size, out int payloadOffset)
    {
        var v = ParsePrefixed(data, ObjectFormats.ArchiveFileHeader, ObjectFormats.ArchiveFileHeaderNames, out payloadOffset);
        size = BinaryPrimitives.ReverseEndianness((ulong)v[0]);
        var header = FromFields(v, 1);
        if (header.IsSymlink && size != 0)
        {
            throw new InvalidDataException($"size: {size} declared for a symlink");
        }

        // No file is larger than off_t allows; callers pass the size to Stream APIs as a long.
        if (size > long.MaxValue)
        {
            throw new InvalidDataException($"size: {size} is larger than any file can be");
        }

        return header;
    }

    /// <summary>Parses a checksummed header (as produced by <see cref="WriteContentHeader"/>).</summary>
    public static FileHeader ParseContentHeader(ReadOnlySpan<byte> data, out int payloadOffset)
    {
        var v = ParsePrefixed(data, ObjectFormats.FileHeader, ObjectFormats.FileHeaderNames, out payloadOffset);
        return FromFields(v, 0);
    }

    private static object[] ParsePrefixed(ReadOnlySpan<byte> data, GVariantType type, FieldNames fields, out int payloadOffset)
    {
        if (data.Length < PrefixLength)
        {
            throw new InvalidDataException($"header: {data.Length} bytes, shorter than the 8-byte length prefix");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (length == 0 || length > data.Length - PrefixLength)
        {
            throw new InvalidDataException($"header length: {length} does not fit in {data.Length - PrefixLength} bytes");
        }

        if (data[4..PrefixLength].ContainsAnyExcept((byte)0))
        {
            throw new InvalidDataException("header padding: not zero");
        }

        payloadOffset = PrefixLength + (int)length;
        return (object[])GVariantReader.DecodeNormalNamed(type, data[PrefixLength..payloadOffset], fields);
    }

    private static FileHeader FromFields(object[] v, int first)
    {
        var rdev = (uint)v[first + 3];
        if (rdev != 0)
        {
            throw new InvalidDataException($"rdev: {rdev}, must be 0");
        }

        var header = new FileHeader(
            BinaryPrimitives.ReverseEndianness((uint)v[first]),
            BinaryPrimitives.ReverseEndianness((uint)v[first + 1]),
            BinaryPrimitives.ReverseEndianness((uint)v[first + 2]),
            (string)v[first + 4],
            DirMeta.WithField("xattrs", () => Xattr.FromValue(v[first + 5])));
        header.Validate();
        return header;
    }

    private void WritePrefixed(GVariantWriter writer, ulong? archiveSize)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var start = writer.Length;
        writer.WriteRaw(stackalloc byte[PrefixLength]);
        var fields = new List<object>(7);
        if (archiveSize is { } size)
        {
            fields.Add(BinaryPrimitives.ReverseEndianness(size));
        }

        fields.Add(BinaryPrimitives.ReverseEndianness(Uid));
        fields.Add(BinaryPrimitives.ReverseEndianness(Gid));
        fields.Add(BinaryPrimitives.ReverseEndianness(Mode));
        fields.Add(0u);
        fields.Add(SymlinkTarget);
        fields.Add(Xattr.ToValue(Xattrs));
        writer.Write(archiveSize is null ? ObjectFormats.FileHeader : ObjectFormats.ArchiveFileHeader, fields);
        writer.PatchBigEndianUInt32(start, (uint)(writer.Length - start - PrefixLength));
    }
}
