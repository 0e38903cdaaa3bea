using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using ZstdSharp;

namespace OstreeContainer.Oci.Layers;

/// <summary>Opens layer blobs for reading.</summary>
public static class LayerArchive
{
    /// <summary>
    /// Reads a layer of <paramref name="mediaType"/> (OCI tar, tar+gzip, tar+zstd, or the
    /// Docker gzip layer). The stream's digest is not checked here: pass a
    /// <see cref="VerifyingStream"/> for untrusted blobs.
    /// </summary>
    /// <exception cref="InvalidDataException">The media type is not a layer type this library reads.</exception>
    public static LayerReader Open(Stream compressed, string mediaType, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        Stream tar = mediaType switch
        {
            MediaTypes.OciLayerTar => compressed,
            MediaTypes.OciLayerGzip or MediaTypes.DockerLayerGzip => new GZipStream(compressed, CompressionMode.Decompress, leaveOpen),
            MediaTypes.OciLayerZstd => new DecompressionStream(compressed, bufferSize: 0, checkEndOfStream: true, leaveOpen: leaveOpen),
            _ => throw new InvalidDataException($"layer media type '{mediaType}' is not a tar, tar+gzip or tar+zstd layer"),
        };
        return new LayerReader(tar, leaveOpen: ReferenceEquals(tar, compressed) && leaveOpen)
        {
            Codec = mediaType == MediaTypes.OciLayerZstd ? "zstd" : ReferenceEquals(tar, compressed) ? null : "gzip",
        };
    }
}

/// <summary>
/// Enumerates the entries of an uncompressed layer tar (ustar, PAX, GNU long names) with
/// names normalised and confined: absolute names, '..' components and hard links that
/// leave the layer are <see cref="InvalidDataException"/>s, as are bad checksums,
/// truncation and metadata beyond <see cref="MaxMetadataBytes"/>.
/// </summary>
public sealed class LayerReader : IDisposable
{
    /// <summary>
    /// Cap on the extended-header data (PAX records, GNU long names) that precede one entry:
    /// it is buffered in memory. Names and xattrs of real trees are far below it.
    /// </summary>
    public const int MaxMetadataBytes = 1024 * 1024;

    // GNU tar's PAX sparse-file keywords (GNU.sparse.size, .map, .major, .realsize…).
    private const string PaxSparsePrefix = "GNU.sparse.";

    private readonly Stream _source;
    private readonly bool _leaveOpen;
    private readonly byte[] _header = new byte[TarFormat.BlockSize];
    private readonly EntryContentStream _content;
    private long _remaining;
    private int _padding;
    private readonly IncrementalHash _diffIdHasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private bool _ended;

    /// <summary>Reads the uncompressed tar <paramref name="tar"/>.</summary>
    public LayerReader(Stream tar, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(tar);
        _source = tar;
        _leaveOpen = leaveOpen;
        _content = new EntryContentStream(this);
    }

    // Names the decompressor in errors it raises ("gzip", "zstd"), null for a raw tar.
    internal string? Codec { get; init; }

    /// <summary>The content of the current file entry; skipped if not read before <see cref="Next"/>.</summary>
    public Stream Content => _content;

    /// <summary>The next entry, or null after the end-of-archive marker (or a clean end of data).</summary>
    /// <exception cref="InvalidDataException">The archive is malformed, truncated or tries to leave its root.</exception>
    public LayerEntry? Next()
    {
        if (_ended)
        {
            return null;
        }

        Skip(_remaining + _padding);
        _remaining = 0;
        _padding = 0;

        var pending = new PendingMetadata();
        while (true)
        {
            var read = ReadSource(_header);
            if (read == 0)
            {
                // Some writers stop without the two zero blocks; GNU tar accepts that too.
                _ended = true;
                return null;
            }

            if (read < TarFormat.BlockSize)
            {
                LayerThrowHelper.Truncated("inside a header block");
            }

            if (_header.AsSpan().IndexOfAnyExcept((byte)0) < 0)
            {
                _ended = true;
                return null;
            }

            var header = _header.AsSpan();
            VerifyChecksum(header);
            var typeFlag = header[TarFormat.TypeFlagOffset];
            var size = ParseNumber(header.Slice(TarFormat.SizeOffset, TarFormat.SizeLength), null, "size");
            switch (typeFlag)
            {
                case TarFormat.TypePaxExtended:
                    ParsePax(ReadMetadata(size, ref pending), ref pending);
                    continue;
                case TarFormat.TypePaxGlobal:
                    // Global records would apply to every later entry; layers do not use them.
                    ReadMetadata(size, ref pending);
                    continue;
                case TarFormat.TypeGnuLongName:
                    pending.Path = DecodeCString(ReadMetadata(size, ref pending));
                    continue;
                case TarFormat.TypeGnuLongLink:
                    pending.LinkPath = DecodeCString(ReadMetadata(size, ref pending));
                    continue;
            }

            return BuildEntry(header, typeFlag, size, ref pending);
        }
    }

    /// <summary>
    /// Reads the rest of the tar, including anything after the end-of-archive blocks, and
    /// returns the sha256 of every uncompressed byte: the layer's diff ID, to compare with
    /// the image config's <c>rootfs.diff_ids</c> before trusting what was extracted. Reading
    /// to the end also makes the decompressor check its trailer (gzip CRC, zstd checksum).
    /// </summary>
    /// <exception cref="InvalidDataException">The rest of the stream is truncated or corrupt.</exception>
    public Digest ReadToEndAndComputeDiffId()
    {
        _remaining = 0;
        _padding = 0;
        _ended = true;
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (ReadSome(buffer) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Digest.FromHasher(_diffIdHasher);
    }

    /// <summary>
    /// <see cref="ReadToEndAndComputeDiffId"/>, checked against the diff ID the image config
    /// gives this layer: the one check every reader of a layer makes before trusting it.
    /// </summary>
    /// <exception cref="InvalidDataException">The uncompressed bytes hash to another diff ID, or the stream is corrupt.</exception>
    public void ReadToEndAndCheckDiffId(Digest expected)
    {
        var actual = ReadToEndAndComputeDiffId();
        if (actual != expected)
        {
            throw new InvalidDataException($"the uncompressed layer hashes to {actual}, but the config's diff_id is {expected}");
        }
    }

    /// <summary>Releases the tar stream (unless left open).</summary>
    public void Dispose()
    {
        _diffIdHasher.Dispose();
        if (!_leaveOpen)
        {
            _source.Dispose();
        }
    }

    private LayerEntry BuildEntry(ReadOnlySpan<byte> header, byte typeFlag, long size, ref PendingMetadata pending)
    {
        var rawName = pending.Path ?? HeaderName(header);
        if (pending.SparseKey is { } sparse)
        {
            // GNU tar's PAX sparse formats (0.0, 0.1, 1.0): the data is a map of holes plus the
            // stored pieces, and the real size can be far beyond what is stored; reading it
            // as plain content would store the wrong bytes.
            LayerThrowHelper.BadEntry(rawName, $"PAX record {sparse}", "marks a sparse file: sparse files are not supported");
        }

        var type = typeFlag switch
        {
            TarFormat.TypeRegular or TarFormat.TypeRegularOld or TarFormat.TypeContiguous =>
                rawName.EndsWith('/') ? LayerEntryType.Directory : LayerEntryType.File,
            TarFormat.TypeHardLink => LayerEntryType.Hardlink,
            TarFormat.TypeSymLink => LayerEntryType.Symlink,
            TarFormat.TypeCharDevice => LayerEntryType.CharDevice,
            TarFormat.TypeBlockDevice => LayerEntryType.BlockDevice,
            TarFormat.TypeDirectory => LayerEntryType.Directory,
            TarFormat.TypeFifo => LayerEntryType.Fifo,
            _ => Unsupported(rawName, typeFlag),
        };
        var path = Normalize(rawName, "name");
        if (path.Length == 0 && type != LayerEntryType.Directory)
        {
            LayerThrowHelper.BadEntry(rawName, "name", "names the root but is not a directory");
        }

        string? linkTarget = null;
        if (type is LayerEntryType.Symlink or LayerEntryType.Hardlink)
        {
            linkTarget = pending.LinkPath ?? DecodeCString(header.Slice(TarFormat.LinkNameOffset, TarFormat.LinkNameLength));
            if (linkTarget.Length == 0)
            {
                LayerThrowHelper.BadEntry(path, "link target", "is empty");
            }

            if (type == LayerEntryType.Hardlink)
            {
                // A hard link is created by name inside the extraction root: confine it like a name.
                linkTarget = Normalize(linkTarget, "hard link target");
                if (linkTarget.Length == 0)
                {
                    LayerThrowHelper.BadEntry(path, "hard link target", "is the root directory");
                }
            }
        }

        var entry = new LayerEntry
        {
            Path = path,
            Type = type,
            Mode = (int)ParseNumber(header.Slice(TarFormat.ModeOffset, TarFormat.ModeLength), path, "mode") & TarFormat.PermissionMask,
            Uid = pending.Uid ?? ParseNumber(header.Slice(TarFormat.UidOffset, TarFormat.UidLength), path, "uid"),
            Gid = pending.Gid ?? ParseNumber(header.Slice(TarFormat.GidOffset, TarFormat.GidLength), path, "gid"),
            Size = type == LayerEntryType.File ? pending.Size ?? size : 0,
            ModificationTime = DateTimeOffset.FromUnixTimeSeconds(
                Math.Clamp(pending.Mtime ?? ParseNumber(header.Slice(TarFormat.MtimeOffset, TarFormat.MtimeLength), path, "mtime"), -62135596800, 253402300799)),
            LinkTarget = linkTarget,
            Xattrs = pending.Xattrs ?? [],
            DevMajor = type is LayerEntryType.CharDevice or LayerEntryType.BlockDevice
                ? (int)ParseNumber(header.Slice(TarFormat.DevMajorOffset, TarFormat.DevMajorLength), path, "devmajor") : 0,
            DevMinor = type is LayerEntryType.CharDevice or LayerEntryType.BlockDevice
                ? (int)ParseNumber(header.Slice(TarFormat.DevMinorOffset, TarFormat.DevMinorLength), path, "devminor") : 0,
        };

        if (entry.IsWhiteout && !entry.IsOpaqueWhiteout && entry.WhiteoutTarget is { } target
            && (target.EndsWith('/') || target.EndsWith("/..", StringComparison.Ordinal) || target.EndsWith("/.", StringComparison.Ordinal)
                || target is "." or ".."))
        {
            LayerThrowHelper.BadEntry(path, "whiteout", "does not name a file to delete");
        }

        // Data follows every header whose size is set; only a file's is exposed.
        var dataSize = pending.Size ?? size;
        _remaining = dataSize;
        _padding = TarFormat.Padding(dataSize);
        if (type != LayerEntryType.File)
        {
            Skip(_remaining + _padding);
            _remaining = 0;
            _padding = 0;
        }

        return entry;
    }

    private static LayerEntryType Unsupported(string name, byte typeFlag)
    {
        LayerThrowHelper.BadEntry(name, "type", $"'{(char)typeFlag}' is not supported in layers");
        return default;
    }

    // Relative, '/'-separated; '.' and empty components dropped; '..' and absolute names rejected.
    private static string Normalize(string name, string field)
    {
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            LayerThrowHelper.BadEntry(name, field, "holds a NUL character");
        }

        if (name.StartsWith('/'))
        {
            LayerThrowHelper.BadEntry(name, field, "is absolute");
        }

        var builder = new StringBuilder(name.Length);
        foreach (var range in name.AsSpan().Split('/'))
        {
            var component = name.AsSpan(range);
            if (component.Length == 0 || component is ".")
            {
                continue;
            }

            if (component is "..")
            {
                LayerThrowHelper.BadEntry(name, field, "has a '..' component (it would leave the layer root)");
            }

            if (builder.Length > 0)
            {
                builder.Append('/');
            }

            builder.Append(component);
        }

        return builder.ToString();
    }

    private static string HeaderName(ReadOnlySpan<byte> header)
    {
        var name = DecodeCString(header.Slice(TarFormat.NameOffset, TarFormat.NameLength));
        if (header.Slice(TarFormat.MagicOffset, TarFormat.MagicLength).SequenceEqual(TarFormat.UstarMagic))
        {
            var prefix = DecodeCString(header.Slice(TarFormat.PrefixOffset, TarFormat.PrefixLength));
            if (prefix.Length > 0)
            {
                return prefix + "/" + name;
            }
        }

        return name;
    }

    private static string DecodeCString(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    private static void VerifyChecksum(ReadOnlySpan<byte> header)
    {
        var stored = ParseNumber(header.Slice(TarFormat.ChecksumOffset, TarFormat.ChecksumLength), null, "header checksum");
        long sum = 0;
        for (var i = 0; i < header.Length; i++)
        {
            sum += i is >= TarFormat.ChecksumOffset and < TarFormat.ChecksumOffset + TarFormat.ChecksumLength ? (byte)' ' : header[i];
        }

        if (sum != stored)
        {
            LayerThrowHelper.BadEntry(null, "header checksum", $"is {stored}, the header sums to {sum} (not a tar, or corrupt)");
        }
    }

    // Octal, space/NUL padded; or GNU base-256 (high bit of the first byte set) for large values.
    private static long ParseNumber(ReadOnlySpan<byte> field, string? name, string what)
    {
        if (field.Length > 0 && (field[0] & 0x80) != 0)
        {
            long big = 0;
            foreach (var b in field[1..])
            {
                if (field[0] != 0x80 || big > (long.MaxValue >> 8))
                {
                    LayerThrowHelper.BadEntry(name, what, "is a negative or oversized base-256 number");
                }

                big = (big << 8) | b;
            }

            return big;
        }

        var text = field;
        var start = 0;
        while (start < text.Length && text[start] == (byte)' ')
        {
            start++;
        }

        var end = text[start..].IndexOfAny((byte)0, (byte)' ');
        text = end < 0 ? text[start..] : text.Slice(start, end);
        long value = 0;
        foreach (var b in text)
        {
            if (b is < (byte)'0' or > (byte)'7' || value > (long.MaxValue >> 3))
            {
                LayerThrowHelper.BadEntry(name, what, $"is not an octal number ('{Encoding.ASCII.GetString(field).TrimEnd('\0')}')");
            }

            value = (value << 3) | (long)(b - '0');
        }

        return value;
    }

    private byte[] ReadMetadata(long size, ref PendingMetadata pending)
    {
        pending.Bytes += size;
        if (size < 0 || pending.Bytes > MaxMetadataBytes)
        {
            LayerThrowHelper.BadEntry(pending.Path, "extended header", $"data exceeds the {MaxMetadataBytes}-byte limit ({pending.Bytes} bytes)");
        }

        var data = new byte[size];
        ReadExactly(data, "inside an extended header");
        Skip(TarFormat.Padding(size));
        return data;
    }

    // "LEN KEY=VALUE\n" records (POSIX pax, "pax Extended Header").
    private static void ParsePax(ReadOnlySpan<byte> data, ref PendingMetadata pending)
    {
        while (!data.IsEmpty)
        {
            var space = data.IndexOf((byte)' ');
            var length = 0;
            if (space <= 0
                || !int.TryParse(data[..space], NumberStyles.None, CultureInfo.InvariantCulture, out length)
                || length <= space + 1 || length > data.Length || data[length - 1] != (byte)'\n')
            {
                LayerThrowHelper.BadEntry(pending.Path, "PAX record", "has a bad length");
            }

            var record = data[(space + 1)..(length - 1)];
            var equals = record.IndexOf((byte)'=');
            if (equals <= 0)
            {
                LayerThrowHelper.BadEntry(pending.Path, "PAX record", "has no key=value");
            }

            var key = Encoding.UTF8.GetString(record[..equals]);
            var value = record[(equals + 1)..];
            switch (key)
            {
                case TarFormat.PaxPath:
                    pending.Path = Encoding.UTF8.GetString(value);
                    break;
                case TarFormat.PaxLinkPath:
                    pending.LinkPath = Encoding.UTF8.GetString(value);
                    break;
                case TarFormat.PaxSize:
                    pending.Size = ParseDecimal(value, pending.Path, key);
                    break;
                case TarFormat.PaxUid:
                    pending.Uid = ParseDecimal(value, pending.Path, key);
                    break;
                case TarFormat.PaxGid:
                    pending.Gid = ParseDecimal(value, pending.Path, key);
                    break;
                case TarFormat.PaxMtime:
                    // Seconds with an optional fraction; layers keep whole seconds.
                    var dot = value.IndexOf((byte)'.');
                    pending.Mtime = ParseDecimal(dot < 0 ? value : value[..dot], pending.Path, key, allowNegative: true);
                    break;
                default:
                    if (key.StartsWith(PaxSparsePrefix, StringComparison.Ordinal))
                    {
                        // Refused once the entry's name is known (BuildEntry).
                        pending.SparseKey ??= key;
                    }

                    if (key.StartsWith(TarFormat.PaxXattrPrefix, StringComparison.Ordinal) && key.Length > TarFormat.PaxXattrPrefix.Length)
                    {
                        (pending.Xattrs ??= []).Add(new(key[TarFormat.PaxXattrPrefix.Length..], value.ToArray()));
                    }

                    break;
            }

            data = data[length..];
        }
    }

    private static long ParseDecimal(ReadOnlySpan<byte> value, string? name, string key, bool allowNegative = false)
    {
        var style = allowNegative ? NumberStyles.AllowLeadingSign : NumberStyles.None;
        if (!long.TryParse(value, style, CultureInfo.InvariantCulture, out var result))
        {
            LayerThrowHelper.BadEntry(name, $"PAX {key}", "is not a decimal number");
        }

        return result;
    }

    private int ReadSource(Span<byte> buffer)
    {
        try
        {
            var n = _source.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            _diffIdHasher.AppendData(buffer[..n]);
            return n;
        }
        catch (Exception e) when (Codec is not null && e is ZstdException or InvalidDataException)
        {
            throw new InvalidDataException($"layer {Codec} stream is corrupt: {e.Message}", e);
        }
    }

    private int ReadSome(Span<byte> buffer)
    {
        try
        {
            var n = _source.Read(buffer);
            _diffIdHasher.AppendData(buffer[..n]);
            return n;
        }
        catch (Exception e) when (Codec is not null && e is ZstdException or InvalidDataException)
        {
            throw new InvalidDataException($"layer {Codec} stream is corrupt: {e.Message}", e);
        }
    }

    private void ReadExactly(Span<byte> buffer, string where)
    {
        if (ReadSource(buffer) < buffer.Length)
        {
            LayerThrowHelper.Truncated(where);
        }
    }

    private void Skip(long count)
    {
        if (count <= 0)
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(count, 64 * 1024));
        try
        {
            while (count > 0)
            {
                var n = ReadSome(buffer.AsSpan(0, (int)Math.Min(count, buffer.Length)));
                if (n == 0)
                {
                    LayerThrowHelper.Truncated("inside an entry's data");
                }

                count -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private struct PendingMetadata
    {
        public long Bytes;
        public string? Path;
        public string? LinkPath;
        public long? Size;
        public long? Uid;
        public long? Gid;
        public long? Mtime;
        public List<KeyValuePair<string, byte[]>>? Xattrs;
        public string? SparseKey;
    }

    /// <summary>The current file's bytes; reading past them returns 0, truncation throws.</summary>
    private sealed class EntryContentStream(LayerReader reader) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (reader._remaining == 0 || buffer.IsEmpty)
            {
                return 0;
            }

            var n = reader.ReadSome(buffer[..(int)Math.Min(buffer.Length, reader._remaining)]);
            if (n == 0)
            {
                LayerThrowHelper.Truncated("inside a file's content");
            }

            reader._remaining -= n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
