using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Compression;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Layers;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.ImagePuller;

/// <summary>
/// Reads the OSTree objects out of verified layer streams. Every layer is read to its end
/// so that its diff_id (and, through the caller's <see cref="VerifyingStream"/>, its
/// digest) is checked before anything read from it is used.
/// </summary>
internal static class LayerObjects
{
    /// <summary>Cap on the metadata objects (commit, dirtrees, dirmetas) held in memory from the meta layer.</summary>
    public const long MaxMetaLayerObjectBytes = 512L << 20;

    /// <summary>Largest <c>.filez</c> copied verbatim into an archive repo (buffered whole); larger ones stream.</summary>
    public const int MaxVerbatimBytes = 8 << 20;

    /// <summary>Cap on a <c>.filez</c> header (its xattrs), buffered in memory.</summary>
    public const int MaxArchiveHeaderBytes = 4 << 20;

    /// <summary>
    /// The commit, commitmeta, dirtree and dirmeta objects of a meta layer, by name. Names
    /// are not trusted: each object is hashed before it is used.
    /// </summary>
    public static Dictionary<(Checksum, ObjectType), byte[]> ReadMetadata(Stream blob, ImageLayer layer)
    {
        var objects = new Dictionary<(Checksum, ObjectType), byte[]>();
        long total = 0;
        using var reader = LayerArchive.Open(blob, layer.Descriptor.MediaType, leaveOpen: true);
        while (reader.Next() is { } entry)
        {
            if (entry.Type != LayerEntryType.File || !TryParseObjectPath(entry.Path, out var checksum, out var type)
                || type is not (ObjectType.Commit or ObjectType.CommitMeta or ObjectType.DirTree or ObjectType.DirMeta))
            {
                continue;
            }

            if (entry.Size > OstreeRepo.MaxMetadataSize || (total += entry.Size) > MaxMetaLayerObjectBytes)
            {
                throw new InvalidDataException($"{entry.Path}: metadata over the {MaxMetaLayerObjectBytes >> 20} MB the meta layer may hold in memory");
            }

            var bytes = new byte[entry.Size];
            reader.Content.ReadExactly(bytes);
            objects[(checksum, type)] = bytes;
        }

        reader.ReadToEndAndCheckDiffId(layer.DiffId);
        return objects;
    }

    /// <summary>
    /// Writes the <c>.filez</c> objects of a repo layer that are in <paramref name="wanted"/>
    /// and not yet claimed by another layer; each is inflated and must hash to its name.
    /// Objects not wanted are skipped unread. Returns the objects written.
    /// </summary>
    public static int ImportContent(Stream blob, ImageLayer layer, RepoTransaction transaction, IReadOnlySet<Checksum> wanted, ConcurrentDictionary<Checksum, bool> claimed, Action<long> uncompressedProgress, CancellationToken cancellationToken)
    {
        var written = 0;
        using var reader = LayerArchive.Open(blob, layer.Descriptor.MediaType, leaveOpen: true);
        while (reader.Next() is { } entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.Type != LayerEntryType.File || !TryParseObjectPath(entry.Path, out var checksum, out var type)
                || type != ObjectType.File || !entry.Path.EndsWith(".filez", StringComparison.Ordinal)
                || !wanted.Contains(checksum) || !claimed.TryAdd(checksum, true))
            {
                continue;
            }

            try
            {
                WriteArchiveObject(reader.Content, entry.Size, checksum, transaction);
            }
            catch (InvalidDataException e)
            {
                // Let another layer (or a rerun) provide a good copy of this object.
                claimed.TryRemove(checksum, out _);
                throw new InvalidDataException($"{entry.Path}: {e.Message}", e);
            }
            catch
            {
                claimed.TryRemove(checksum, out _);
                throw;
            }

            written++;
            uncompressedProgress(entry.Size);
        }

        reader.ReadToEndAndCheckDiffId(layer.DiffId);
        return written;
    }

    /// <summary>Parses <c>ostree/repo/objects/XX/REST.EXT</c>.</summary>
    public static bool TryParseObjectPath(string path, out Checksum checksum, out ObjectType type)
    {
        checksum = default;
        type = default;
        if (!path.StartsWith(ImagePaths.ObjectsPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = path.AsSpan(ImagePaths.ObjectsPrefix.Length);
        var dot = rest.LastIndexOf('.');
        if (rest.Length < 3 || rest[2] != '/' || dot != 2 + 1 + Checksum.HexLength - 2)
        {
            return false;
        }

        Span<char> hex = stackalloc char[Checksum.HexLength];
        rest[..2].CopyTo(hex);
        rest[3..dot].CopyTo(hex[2..]);
        return Checksum.TryParse(hex, out checksum) && ObjectTypeExtensions.TryParseExtension(rest[(dot + 1)..], out type);
    }

    // .filez: BE32 header length L, 4 bytes padding, the (tuuuusa(ayay)) header, then raw
    // DEFLATE of the content (nothing for symlinks). See ostree-format.md, archive mode.
    private static void WriteArchiveObject(Stream content, long entrySize, Checksum checksum, RepoTransaction transaction)
    {
        if (transaction.Repo.IsArchive && entrySize <= MaxVerbatimBytes)
        {
            // Archive to archive: verify, then keep the compressed bytes as they are.
            var whole = ArrayPool<byte>.Shared.Rent((int)Math.Max(entrySize, 1));
            try
            {
                content.ReadExactly(whole, 0, (int)entrySize);
                transaction.WriteArchiveContent(checksum, whole.AsMemory(0, (int)entrySize));
                return;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(whole);
            }
        }

        Span<byte> prefix = stackalloc byte[FileHeader.PrefixLength];
        if (entrySize < FileHeader.PrefixLength)
        {
            throw new InvalidDataException($"{entrySize} bytes is too short for a .filez header");
        }

        content.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        if (headerLength > MaxArchiveHeaderBytes || headerLength > entrySize - FileHeader.PrefixLength)
        {
            throw new InvalidDataException($".filez header declares {headerLength} bytes (entry is {entrySize}, cap {MaxArchiveHeaderBytes})");
        }

        var length = FileHeader.PrefixLength + (int)headerLength;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        FileHeader header;
        ulong size;
        try
        {
            prefix.CopyTo(buffer);
            content.ReadExactly(buffer, FileHeader.PrefixLength, (int)headerLength);
            header = FileHeader.ParseArchive(buffer.AsSpan(0, length), out size, out _);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (header.IsSymlink || size == 0)
        {
            transaction.WriteContent(header, Stream.Null, 0, checksum);
            return;
        }

        if (size > long.MaxValue)
        {
            throw new InvalidDataException($".filez declares {size} bytes of content");
        }

        using var inflate = new DeflateStream(content, CompressionMode.Decompress, leaveOpen: true);
        transaction.WriteContent(header, inflate, (long)size, checksum);
    }
}
