using System.Buffers;
using System.Buffers.Binary;
using System.Collections;
using System.Text;

namespace OstreeContainer.Ostree.GVariant;

/// <summary>
/// Serialises values (the model described on <see cref="Variant"/>) into GVariant normal
/// form: minimal framing-offset width, zero padding, tuple offsets in reverse member
/// order. One writer can be reused for many values (<see cref="Reset"/>) so a tree walk
/// allocates one buffer, not one per object.
/// </summary>
public sealed class GVariantWriter : IDisposable
{
    private byte[] _buffer;
    private int _length;

    /// <summary>Creates a writer with an initial capacity.</summary>
    public GVariantWriter(int capacity = 256)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 16));
    }

    /// <summary>The bytes written since the last <see cref="Reset"/>.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <summary>Number of bytes written.</summary>
    public int Length => _length;

    /// <summary>Serialises <paramref name="value"/> as <paramref name="type"/> into a new array.</summary>
    public static byte[] Encode(GVariantType type, object value)
    {
        using var writer = new GVariantWriter();
        writer.Write(type, value);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Forgets what was written; keeps the buffer.</summary>
    public void Reset() => _length = 0;

    /// <summary>Appends raw bytes (e.g. a length prefix before a value).</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        _length += bytes.Length;
    }

    /// <summary>
    /// Appends <paramref name="value"/> as a top-level value. The current position must be
    /// 8-aligned relative to the start of the buffer, as every OSTree serialisation is.
    /// </summary>
    public void Write(GVariantType type, object value)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (_length % 8 != 0)
        {
            throw new InvalidOperationException("a top-level GVariant value must start 8-aligned");
        }

        WriteValue(type, value, 0);
    }

    /// <summary>Overwrites 4 already-written bytes at <paramref name="offset"/> with a big-endian value (length prefixes).</summary>
    public void PatchBigEndianUInt32(int offset, uint value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, _length - 4);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(offset, 4), value);
    }

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>
    /// The narrowest framing-offset width W for which body + count × W still fits in W
    /// bytes (ostree-format.md §1.3; GLib <c>gvs_calculate_total_size</c>).
    /// </summary>
    internal static int OffsetWidth(long bodyLength, int count)
    {
        var w = 1;
        while (w < 8 && bodyLength + ((long)count * w) > (1L << (8 * w)) - 1)
        {
            w *= 2;
        }

        return w;
    }

    private void WriteValue(GVariantType t, object? v, int depth)
    {
        // The reader refuses values nested deeper than this (as GLib does), so never write
        // one; checking here also bounds the recursion for values built by callers.
        if (depth > GVariantType.MaxDepth)
        {
            throw new ArgumentException($"value nested deeper than {GVariantType.MaxDepth} levels", nameof(v));
        }

        switch (t.Kind)
        {
            case 'b':
                WriteByte((bool)v! ? (byte)1 : (byte)0);
                return;
            case 'y':
                WriteByte((byte)v!);
                return;
            case 'n':
                BinaryPrimitives.WriteInt16LittleEndian(Advance(2), (short)v!);
                return;
            case 'q':
                BinaryPrimitives.WriteUInt16LittleEndian(Advance(2), (ushort)v!);
                return;
            case 'i' or 'h':
                BinaryPrimitives.WriteInt32LittleEndian(Advance(4), (int)v!);
                return;
            case 'u':
                BinaryPrimitives.WriteUInt32LittleEndian(Advance(4), (uint)v!);
                return;
            case 'x':
                BinaryPrimitives.WriteInt64LittleEndian(Advance(8), (long)v!);
                return;
            case 't':
                BinaryPrimitives.WriteUInt64LittleEndian(Advance(8), (ulong)v!);
                return;
            case 'd':
                BinaryPrimitives.WriteDoubleLittleEndian(Advance(8), (double)v!);
                return;
            case 's' or 'o' or 'g':
                WriteString((string)v!);
                return;
            case 'v':
                WriteVariant((Variant)v!, depth);
                return;
            case 'm':
                if (v is not null)
                {
                    WriteValue(t.Element!, v, depth + 1);
                    if (!t.Element!.IsFixedSize)
                    {
                        WriteByte(0);
                    }
                }

                return;
            case 'a' when t.IsByteArray:
                WriteRaw(v switch
                {
                    byte[] bytes => bytes,
                    ReadOnlyMemory<byte> memory => memory.Span,
                    _ => throw new ArgumentException($"'ay' needs byte[], got {v?.GetType().Name}"),
                });
                return;
            case 'a':
                WriteArray(t, (IList)v!, depth);
                return;
            default:
                WriteTuple(t, (IList)v!, depth);
                return;
        }
    }

    private void WriteString(string s)
    {
        var count = Encoding.UTF8.GetByteCount(s);
        var span = Advance(count + 1);
        Encoding.UTF8.GetBytes(s, span);
        if (span[..count].Contains((byte)0))
        {
            throw new ArgumentException("GVariant strings cannot contain NUL");
        }

        span[count] = 0;
    }

    private void WriteVariant(Variant v, int depth)
    {
        // The child is serialised as if at offset 0; the variant itself is 8-aligned,
        // so aligning relative to the buffer start gives the same padding.
        WriteValue(v.Type, v.Value, depth + 1);
        WriteByte(0);
        var sig = v.Type.Signature;
        Encoding.ASCII.GetBytes(sig, Advance(sig.Length));
    }

    private void WriteArray(GVariantType t, IList items, int depth)
    {
        var element = t.Element!;
        if (element.IsFixedSize)
        {
            foreach (var item in items)
            {
                WriteValue(element, item, depth + 1);
            }

            return;
        }

        if (items.Count == 0)
        {
            return;
        }

        var start = _length;
        var ends = ArrayPool<long>.Shared.Rent(items.Count);
        try
        {
            for (var i = 0; i < items.Count; i++)
            {
                PadTo(start, element.Alignment);
                WriteValue(element, items[i], depth + 1);
                ends[i] = _length - start;
            }

            WriteOffsets(_length - start, ends.AsSpan(0, items.Count), reverse: false);
        }
        finally
        {
            ArrayPool<long>.Shared.Return(ends);
        }
    }

    private void WriteTuple(GVariantType t, IList members, int depth)
    {
        if (members.Count != t.Members.Count)
        {
            throw new ArgumentException($"'{t}' has {t.Members.Count} members, value has {members.Count}");
        }

        var start = _length;
        Span<long> ends = stackalloc long[t.Members.Count];
        var n = 0;
        for (var i = 0; i < t.Members.Count; i++)
        {
            var member = t.Members[i];
            PadTo(start, member.Alignment);
            WriteValue(member, members[i], depth + 1);
            if (!member.IsFixedSize && i != t.Members.Count - 1)
            {
                ends[n++] = _length - start;
            }
        }

        if (t.IsFixedSize)
        {
            // Fixed-size tuples are padded to their full size ('()' is one zero byte).
            Advance(start + t.FixedSize - _length).Clear();
            return;
        }

        WriteOffsets(_length - start, ends[..n], reverse: true);
    }

    private void WriteOffsets(long bodyLength, ReadOnlySpan<long> ends, bool reverse)
    {
        var n = ends.Length;
        if (n == 0)
        {
            return;
        }

        var w = OffsetWidth(bodyLength, n);
        var span = Advance(n * w);
        for (var i = 0; i < n; i++)
        {
            var value = (ulong)ends[reverse ? n - 1 - i : i];
            var slot = span.Slice(i * w, w);
            switch (w)
            {
                case 1:
                    slot[0] = (byte)value;
                    break;
                case 2:
                    BinaryPrimitives.WriteUInt16LittleEndian(slot, (ushort)value);
                    break;
                case 4:
                    BinaryPrimitives.WriteUInt32LittleEndian(slot, (uint)value);
                    break;
                default:
                    BinaryPrimitives.WriteUInt64LittleEndian(slot, value);
                    break;
            }
        }
    }

    private void PadTo(int containerStart, int alignment)
    {
        var rel = _length - containerStart;
        var pad = GVariantType.Align(rel, alignment) - rel;
        if (pad > 0)
        {
            Advance(pad).Clear();
        }
    }

    private void WriteByte(byte b) => Advance(1)[0] = b;

    private Span<byte> Advance(int count)
    {
        var span = GetSpan(count)[..count];
        _length += count;
        return span;
    }

    private Span<byte> GetSpan(int count)
    {
        if (_length + count > _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + count));
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            if (_buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = bigger;
        }

        return _buffer.AsSpan(_length);
    }
}
