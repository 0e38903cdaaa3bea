using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Deltas.Generate;

/// <summary>The objects of one part, in order, and the xz preset it is compressed with.</summary>
internal sealed record PlannedPart(List<DeltaItem> Items, int Preset);

/// <summary>An encoded part: its header for the superblock and, for inline deltas, its bytes.</summary>
internal sealed record EncodedPart(DeltaPartHeader Header, byte[]? InlineBytes);

/// <summary>
/// Builds one delta part: the operations and mode/xattr tables first (everything is known
/// from the plan), then the serialised payload <c>(a(uuu)aa(ayay)ayay)</c> in one buffer
/// with the objects' bytes read straight into the blob, then the xz stream.
/// </summary>
internal static class PartEncoder
{
    // Members of (a(uuu)aa(ayay)ayay) before the last: modes, xattrs, blob.
    private const int FramedMembers = 3;

    // The BCJ filter is used when more than 1/X86ShareDivisor of the blob is x86 code.
    private const int X86ShareDivisor = 3;

    private static readonly GVariantType ModesType = GVariantType.Parse("a(uuu)");
    private static readonly GVariantType XattrTableType = GVariantType.Parse("aa(ayay)");

    /// <summary>
    /// Encodes <paramref name="part"/>, compressed with xz at its preset;
    /// writes it to <paramref name="path"/> unless
    /// <paramref name="keepInline"/>, in which case the bytes are returned.
    /// </summary>
    public static EncodedPart Encode(OstreeRepo repo, PlannedPart part, string path, bool keepInline, CancellationToken cancellationToken)
    {
        var items = part.Items;
        var modes = new List<DeltaPartMode>();
        var modeIndex = new Dictionary<DeltaPartMode, int>();
        var xattrTable = new List<object>();
        var xattrIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var ops = new ArrayBufferWriter<byte>(items.Count * 8);
        var objects = new DeltaObject[items.Count];
        long blobLength = 0;
        ulong usize = 0;

        // Pass 1: operations and tables. Blob offsets follow from each item's payload length.
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            objects[i] = new DeltaObject(item.Type, item.Checksum);
            usize += (ulong)item.Size;
            var offset = blobLength;
            switch (item.Kind)
            {
                case DeltaItemKind.Metadata:
                    Op(ops, DeltaOpcode.OpenSpliceAndClose, (ulong)item.PayloadLength, (ulong)offset);
                    break;
                case DeltaItemKind.Content:
                {
                    var (mode, xattr) = Tables(item.Header!, modes, modeIndex, xattrTable, xattrIndex);
                    Op(ops, DeltaOpcode.OpenSpliceAndClose, mode, xattr, (ulong)item.PayloadLength, (ulong)offset);
                    break;
                }

                case DeltaItemKind.Rollsum:
                    WriteRollsumOps(item, offset, Tables(item.Header!, modes, modeIndex, xattrTable, xattrIndex), ops);
                    break;
                case DeltaItemKind.Bsdiff:
                {
                    var (mode, xattr) = Tables(item.Header!, modes, modeIndex, xattrTable, xattrIndex);
                    // ostree: r(source checksum), o, B(patch), c, R — the checksum first in the blob, then the patch.
                    Op(ops, DeltaOpcode.SetReadSource, (ulong)offset);
                    Op(ops, DeltaOpcode.Open, mode, xattr, (ulong)item.Size);
                    Op(ops, DeltaOpcode.Bspatch, (ulong)(offset + Checksum.Length), (ulong)item.Patch!.Length);
                    Op(ops, DeltaOpcode.Close);
                    Op(ops, DeltaOpcode.UnsetReadSource);
                    break;
                }
            }

            blobLength += item.PayloadLength;
        }

        // Pass 2: the serialised payload in one buffer, objects read straight into the blob.
        var modesBytes = GVariantWriter.Encode(ModesType, modes.Select(m => (object)new object[]
        {
            BinaryPrimitives.ReverseEndianness(m.Uid),
            BinaryPrimitives.ReverseEndianness(m.Gid),
            BinaryPrimitives.ReverseEndianness(m.Mode),
        }).ToArray());
        var xattrBytes = GVariantWriter.Encode(XattrTableType, xattrTable.ToArray());
        var bodyLength = checked(modesBytes.Length + xattrBytes.Length + (int)blobLength + ops.WrittenCount);
        var width = GVariantWriter.OffsetWidth(bodyLength, FramedMembers);
        var total = checked(bodyLength + (FramedMembers * width));
        var payload = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            var span = payload.AsSpan(0, total);
            modesBytes.CopyTo(span);
            var blobStart = modesBytes.Length + xattrBytes.Length;
            xattrBytes.CopyTo(span[modesBytes.Length..]);
            var x86Code = FillBlob(repo, items, span.Slice(blobStart, (int)blobLength), cancellationToken);
            ops.WrittenSpan.CopyTo(span[(blobStart + (int)blobLength)..]);

            // Tuple framing: end offsets of the non-last variable members, last member's first.
            var at = bodyLength;
            WriteOffset(span.Slice(at, width), blobStart + blobLength);
            WriteOffset(span.Slice(at + width, width), blobStart);
            WriteOffset(span.Slice(at + (2 * width), width), modesBytes.Length);

            cancellationToken.ThrowIfCancellationRequested();
            // Always xz: ostree reads an uncompressed part file by mmap at offset 1, which fails.
            // Mostly x86 machine code: add the BCJ filter, a few percent smaller for free.
            var body = part.Preset > 0 && x86Code * X86ShareDivisor > blobLength
                ? XzFilterEncoder.Compress(span, part.Preset, x86: true)
                : Xz.Compress(span, part.Preset);
            const byte kind = (byte)DeltaPartCompression.Xz;
            Span<byte> digest = stackalloc byte[Checksum.Length];
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                hash.AppendData([kind]);
                hash.AppendData(body);
                hash.GetHashAndReset(digest);
            }

            var header = new DeltaPartHeader(DeltaSuperblock.PartVersion, Checksum.FromBytes(digest), (ulong)body.Length + 1, usize, objects);
            if (keepInline)
            {
                var file = new byte[body.Length + 1];
                file[0] = kind;
                body.CopyTo(file.AsSpan(1));
                return new EncodedPart(header, file);
            }

            using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0))
            {
                stream.WriteByte(kind);
                stream.Write(body);
            }

            return new EncodedPart(header, null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(payload);
        }
    }

    // Returns how many blob bytes belong to x86 ELF files.
    private static long FillBlob(OstreeRepo repo, IReadOnlyList<DeltaItem> items, Span<byte> blob, CancellationToken cancellationToken)
    {
        var at = 0;
        long x86 = 0;
        foreach (var item in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = blob.Slice(at, (int)item.PayloadLength);
            switch (item.Kind)
            {
                case DeltaItemKind.Metadata:
                    item.MetadataBytes.CopyTo(target);
                    break;
                case DeltaItemKind.Content when item.Header!.IsSymlink:
                    Encoding.UTF8.GetBytes(item.Header.SymlinkTarget, target);
                    break;
                case DeltaItemKind.Content:
                    ContentReader.ReadInto(repo, item.Checksum, target);
                    if (IsX86Elf(target))
                    {
                        x86 += target.Length;
                    }

                    break;
                case DeltaItemKind.Rollsum:
                    item.Source.Bytes.CopyTo(target);
                    CopyUnmatched(repo, item, target[Checksum.Length..]);
                    break;
                case DeltaItemKind.Bsdiff:
                    item.Source.Bytes.CopyTo(target);
                    item.Patch.CopyTo(target[Checksum.Length..]);
                    break;
            }

            at += target.Length;
        }

        return x86;
    }

    // ELF magic, then e_machine (little-endian, offset 18): EM_386 (3) or EM_X86_64 (62).
    private static bool IsX86Elf(ReadOnlySpan<byte> file) =>
        file.Length > 20 && file.StartsWith("\u007fELF"u8) && file[5] == 1 && BinaryPrimitives.ReadUInt16LittleEndian(file[18..]) is 3 or 62;

    // The blob holds the new file's bytes between matches, in order.
    private static void CopyUnmatched(OstreeRepo repo, DeltaItem item, Span<byte> target)
    {
        var content = ContentReader.ReadAll(repo, item.Checksum, item.Size);
        long position = 0;
        var at = 0;
        foreach (var m in item.Matches!)
        {
            var gap = (int)(m.NewOffset - position);
            content.AsSpan((int)position, gap).CopyTo(target[at..]);
            at += gap;
            position = m.NewOffset + m.Length;
        }

        content.AsSpan((int)position).CopyTo(target[at..]);
    }

    // process_one_rollsum: o; for each match, payload bytes before it (w), then the match
    // from the old object (r once per run of matches, w); R after a run; trailing bytes; c.
    private static void WriteRollsumOps(DeltaItem item, long sourceOffset, (ulong Mode, ulong Xattr) tables, ArrayBufferWriter<byte> ops)
    {
        Op(ops, DeltaOpcode.Open, tables.Mode, tables.Xattr, (ulong)item.Size);
        var blobAt = sourceOffset + Checksum.Length;
        long written = 0;
        var readingPayload = true;
        foreach (var m in item.Matches!)
        {
            var prefix = m.NewOffset - written;
            if (prefix > 0)
            {
                if (!readingPayload)
                {
                    Op(ops, DeltaOpcode.UnsetReadSource);
                    readingPayload = true;
                }

                Op(ops, DeltaOpcode.Write, (ulong)prefix, (ulong)blobAt);
                blobAt += prefix;
                written += prefix;
            }

            if (readingPayload)
            {
                Op(ops, DeltaOpcode.SetReadSource, (ulong)sourceOffset);
                readingPayload = false;
            }

            Op(ops, DeltaOpcode.Write, (ulong)m.Length, (ulong)m.OldOffset);
            written += m.Length;
        }

        if (!readingPayload)
        {
            Op(ops, DeltaOpcode.UnsetReadSource);
        }

        var remainder = item.Size - written;
        if (remainder > 0)
        {
            Op(ops, DeltaOpcode.Write, (ulong)remainder, (ulong)blobAt);
        }

        Op(ops, DeltaOpcode.Close);
    }

    private static (ulong Mode, ulong Xattr) Tables(FileHeader header, List<DeltaPartMode> modes, Dictionary<DeltaPartMode, int> modeIndex, List<object> xattrTable, Dictionary<string, int> xattrIndex)
    {
        var mode = new DeltaPartMode(header.Uid, header.Gid, header.Mode);
        if (!modeIndex.TryGetValue(mode, out var m))
        {
            m = modes.Count;
            modes.Add(mode);
            modeIndex.Add(mode, m);
        }

        // Xattr lists are de-duplicated by their serialised bytes, as ostree's xattr_chunk_equals does.
        var value = Xattr.ToValue(header.Xattrs);
        var key = Convert.ToBase64String(GVariantWriter.Encode(ObjectFormats.Xattrs, value));
        if (!xattrIndex.TryGetValue(key, out var x))
        {
            x = xattrTable.Count;
            xattrTable.Add(value);
            xattrIndex.Add(key, x);
        }

        return ((ulong)m, (ulong)x);
    }

    private static void WriteOffset(Span<byte> target, long value)
    {
        switch (target.Length)
        {
            case 1:
                target[0] = (byte)value;
                break;
            case 2:
                BinaryPrimitives.WriteUInt16LittleEndian(target, (ushort)value);
                break;
            case 4:
                BinaryPrimitives.WriteUInt32LittleEndian(target, (uint)value);
                break;
            default:
                BinaryPrimitives.WriteUInt64LittleEndian(target, (ulong)value);
                break;
        }
    }

    private static void Op(ArrayBufferWriter<byte> ops, DeltaOpcode opcode, params ReadOnlySpan<ulong> args)
    {
        ops.GetSpan(1)[0] = (byte)opcode;
        ops.Advance(1);
        foreach (var a in args)
        {
            Varint.Write(ops, a);
        }
    }
}
