using System.Buffers.Binary;
using System.Text;

namespace OstreeContainer.Ostree.GVariant;

/// <summary>
/// Decodes serialised GVariant data (no header, type known from context) into the value
/// model described on <see cref="Variant"/>, validating everything on the way: fixed
/// sizes, framing offsets (always little-endian, width from the container size),
/// alignment padding (must be zero), NUL-terminated UTF-8 strings, booleans 0/1, variant
/// type strings, nesting depth. <see cref="DecodeNormal"/> additionally requires normal
/// form, as <c>g_variant_is_normal_form</c> and <c>ostree pull</c> do.
/// </summary>
public static class GVariantReader
{
    /// <summary>
    /// Decodes <paramref name="data"/> as <paramref name="type"/> and checks that it is in
    /// normal form (re-serialising the value reproduces the input exactly).
    /// </summary>
    /// <param name="memberNames">Optional names for the members of a top-level tuple, used in error messages.</param>
    /// <exception cref="InvalidDataException">The data is malformed; the message names the field.</exception>
    public static object DecodeNormal(GVariantType type, ReadOnlySpan<byte> data, IReadOnlyList<string>? memberNames = null) =>
        DecodeNormalNamed(type, data, memberNames is null ? null : new FieldNames(memberNames));

    /// <summary>Decodes <paramref name="data"/> as <paramref name="type"/> without the normal-form check.</summary>
    /// <exception cref="InvalidDataException">The data is malformed; the message names the field.</exception>
    public static object Decode(GVariantType type, ReadOnlySpan<byte> data, IReadOnlyList<string>? memberNames = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        return DecodeValue(type, data, 0, memberNames is null ? null : new FieldNames(memberNames), new DecodeState(normal: false, data.Length));
    }

    /// <summary><see cref="DecodeNormal(GVariantType, ReadOnlySpan{byte}, IReadOnlyList{string}?)"/> with names for nested tuples too.</summary>
    internal static object DecodeNormalNamed(GVariantType type, ReadOnlySpan<byte> data, FieldNames? names)
    {
        ArgumentNullException.ThrowIfNull(type);

        // The decoder checks every normal-form rule as it goes (zero padding, exact sizes,
        // minimal offset widths, one NUL per string…), so errors name the field. Re-encoding
        // and comparing stays as the definition of normal form, in case a rule was missed.
        var value = DecodeValue(type, data, 0, names, new DecodeState(normal: true, data.Length));
        using var writer = new GVariantWriter(data.Length + 8);
        writer.Write(type, value);
        if (!writer.WrittenSpan.SequenceEqual(data))
        {
            throw new InvalidDataException($"not in GVariant normal form ({FirstDifference(writer.WrittenSpan, data)})");
        }

        return value;
    }

    /// <summary>Width in bytes of framing offsets in a container of <paramref name="size"/> bytes.</summary>
    public static int OffsetSize(long size) => size switch
    {
        0 => 0,
        <= byte.MaxValue => 1,
        <= ushort.MaxValue => 2,
        <= uint.MaxValue => 4,
        _ => 8,
    };

    private static object DecodeValue(GVariantType t, ReadOnlySpan<byte> d, int depth, FieldNames? names, DecodeState state)
    {
        if (depth > GVariantType.MaxDepth)
        {
            throw new InvalidDataException($"values nested deeper than {GVariantType.MaxDepth}");
        }

        if (t.IsFixedSize && d.Length != t.FixedSize)
        {
            throw new InvalidDataException($"'{t}' must be {t.FixedSize} bytes, found {d.Length}");
        }

        switch (t.Kind)
        {
            case 'b':
                return d[0] switch
                {
                    0 => false,
                    1 => true,
                    _ => throw new InvalidDataException($"boolean byte is {d[0]}, not 0 or 1"),
                };
            case 'y':
                return d[0];
            case 'n':
                return BinaryPrimitives.ReadInt16LittleEndian(d);
            case 'q':
                return BinaryPrimitives.ReadUInt16LittleEndian(d);
            case 'i' or 'h':
                return BinaryPrimitives.ReadInt32LittleEndian(d);
            case 'u':
                return BinaryPrimitives.ReadUInt32LittleEndian(d);
            case 'x':
                return BinaryPrimitives.ReadInt64LittleEndian(d);
            case 't':
                return BinaryPrimitives.ReadUInt64LittleEndian(d);
            case 'd':
                return BinaryPrimitives.ReadDoubleLittleEndian(d);
            case 's' or 'o' or 'g':
                return ReadString(d);
            case 'v':
                return ReadVariant(d, depth, state);
            case 'm':
                return ReadMaybe(t, d, depth, names, state)!;
            case 'a':
                return t.IsByteArray ? d.ToArray() : ReadArray(t, d, depth, names, state);
            default:
                return ReadTuple(t, d, depth, names, state);
        }
    }

    /// <summary>Reads a string: UTF-8 bytes followed by exactly one NUL.</summary>
    internal static string ReadString(ReadOnlySpan<byte> d)
    {
        if (d.IsEmpty || d[^1] != 0)
        {
            throw new InvalidDataException("string is not NUL-terminated");
        }

        var body = d[..^1];
        if (body.Contains((byte)0))
        {
            throw new InvalidDataException("string contains a NUL byte");
        }

        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            throw new InvalidDataException("string is not valid UTF-8");
        }

        return Encoding.UTF8.GetString(body);
    }

    private static Variant ReadVariant(ReadOnlySpan<byte> d, int depth, DecodeState state)
    {
        var sep = d.LastIndexOf((byte)0);
        if (sep < 0)
        {
            throw new InvalidDataException("variant has no type separator");
        }

        var typeBytes = d[(sep + 1)..];
        if (typeBytes.Length is 0 or > 255 || !System.Text.Ascii.IsValid(typeBytes))
        {
            throw new InvalidDataException("variant type string is empty, too long or not ASCII");
        }

        var signature = Encoding.ASCII.GetString(typeBytes);
        if (!GVariantType.TryParse(signature, out var childType))
        {
            throw new InvalidDataException($"variant type '{GVariantType.Printable(signature)}' is not a single valid type");
        }

        try
        {
            return new Variant(childType, DecodeValue(childType, d[..sep], depth + 1, null, state));
        }
        catch (InvalidDataException e)
        {
            throw FieldPath.Prefix(e, $"<{signature}>");
        }
    }

    private static object? ReadMaybe(GVariantType t, ReadOnlySpan<byte> d, int depth, FieldNames? names, DecodeState state)
    {
        if (d.IsEmpty)
        {
            return null;
        }

        var element = t.Element!;
        if (element.IsFixedSize)
        {
            return DecodeValue(element, d, depth + 1, names, state);
        }

        if (d[^1] != 0)
        {
            throw new InvalidDataException("maybe value lacks its trailing zero byte");
        }

        return DecodeValue(element, d[..^1], depth + 1, names, state);
    }

    private static object[] ReadArray(GVariantType t, ReadOnlySpan<byte> d, int depth, FieldNames? names, DecodeState state)
    {
        var element = t.Element!;
        if (element.IsFixedSize)
        {
            if (d.Length % element.FixedSize != 0)
            {
                throw new InvalidDataException($"array of '{element}' is {d.Length} bytes, not a multiple of {element.FixedSize}");
            }

            state.Reserve(d.Length / element.FixedSize, element);
            var fixedItems = new object[d.Length / element.FixedSize];
            for (var i = 0; i < fixedItems.Length; i++)
            {
                fixedItems[i] = DecodeAt(element, d.Slice(i * element.FixedSize, element.FixedSize), depth, i, names, state);
            }

            return fixedItems;
        }

        if (d.IsEmpty)
        {
            return [];
        }

        var w = OffsetSize(d.Length);
        if (d.Length < w)
        {
            throw new InvalidDataException("array is shorter than one framing offset");
        }

        var tableStart = ReadOffset(d[^w..]);
        if (tableStart > (ulong)(d.Length - w) || ((ulong)d.Length - tableStart) % (ulong)w != 0)
        {
            throw new InvalidDataException($"array framing offset table starts at {tableStart}, outside the {d.Length}-byte array");
        }

        var start = (int)tableStart;
        var count = (d.Length - start) / w;
        state.Reserve(count, element);
        var items = new object[count];
        var pos = 0;
        for (var i = 0; i < count; i++)
        {
            var end = ReadOffset(d.Slice(start + (i * w), w));
            var itemStart = GVariantType.Align(pos, element.Alignment);
            if (end > (ulong)start || itemStart > (int)end)
            {
                throw FieldPath.Error($"[{i}]", $"framing offset {end} out of order or outside the array body");
            }

            RequireZeroPadding(d[pos..itemStart], i);
            items[i] = DecodeAt(element, d[itemStart..(int)end], depth, i, names, state);
            pos = (int)end;
        }

        if (pos != start)
        {
            throw new InvalidDataException($"array has {start - pos} bytes between its last element and its framing offsets");
        }

        // Checked last: when the structure itself is broken, that is the better message.
        if (state.Normal)
        {
            RequireMinimalOffsetSize(w, start, count);
        }

        return items;
    }

    private static object DecodeAt(GVariantType element, ReadOnlySpan<byte> d, int depth, int index, FieldNames? names, DecodeState state)
    {
        try
        {
            return DecodeValue(element, d, depth + 1, names, state);
        }
        catch (InvalidDataException e)
        {
            throw FieldPath.Prefix(e, $"[{index}]");
        }
    }

    private static object[] ReadTuple(GVariantType t, ReadOnlySpan<byte> d, int depth, FieldNames? names, DecodeState state)
    {
        var members = t.Members;
        var w = OffsetSize(d.Length);
        var offsetsUsed = 0;
        var bodyEnd = d.Length;
        var values = new object[members.Count];
        var pos = 0;
        for (var i = 0; i < members.Count; i++)
        {
            var member = members[i];
            var name = names?[i] ?? (t.Kind == '{' ? (i == 0 ? "key" : "value") : $"member {i}");
            var start = GVariantType.Align(pos, member.Alignment);
            int end;
            if (member.IsFixedSize)
            {
                end = start + member.FixedSize;
            }
            else if (i == members.Count - 1)
            {
                end = bodyEnd;
            }
            else
            {
                offsetsUsed++;
                bodyEnd = d.Length - (offsetsUsed * w);
                if (w == 0 || bodyEnd < 0)
                {
                    throw FieldPath.Error(name, "tuple too short for its framing offsets");
                }

                var offset = ReadOffset(d.Slice(bodyEnd, w));
                if (offset > (ulong)bodyEnd)
                {
                    throw FieldPath.Error(name, $"framing offset {offset} beyond the tuple body");
                }

                end = (int)offset;
            }

            if (start > end || end > bodyEnd)
            {
                throw FieldPath.Error(name, $"member does not fit in the {d.Length}-byte tuple");
            }

            try
            {
                RequireZeroPadding(d[pos..start], i);
                values[i] = DecodeValue(member, d[start..end], depth + 1, names?.Nested(i), state);
            }
            catch (InvalidDataException e)
            {
                throw FieldPath.Prefix(e, name);
            }

            pos = end;
        }

        if (t.IsFixedSize)
        {
            RequireZeroPadding(d[pos..], members.Count);
        }
        else if (pos != bodyEnd)
        {
            throw new InvalidDataException($"tuple has {bodyEnd - pos} unexpected bytes after its last member");
        }

        if (state.Normal && offsetsUsed > 0)
        {
            RequireMinimalOffsetSize(w, bodyEnd, offsetsUsed);
        }

        return values;
    }

    /// <summary>
    /// Normal form uses the narrowest offsets that fit (ostree-format.md §1.3). The width
    /// read from the container size is wider only when the writer padded the container.
    /// </summary>
    private static void RequireMinimalOffsetSize(int width, int bodyLength, int count)
    {
        var minimal = GVariantWriter.OffsetWidth(bodyLength, count);
        if (width != minimal)
        {
            throw new InvalidDataException($"framing offsets are {width} bytes wide where normal form uses {minimal}");
        }
    }

    /// <summary>The mode of one decode and what it may still allocate.</summary>
    private sealed class DecodeState(bool normal, int inputLength)
    {
        // Values are objects, each 24+ bytes, and an element of a fixed-size type such as
        // ((((y)))) is one byte yet several values: without a bound a 1 MiB variant of
        // a((((…)))) would expand into gigabytes. OSTree's formats use well under one value
        // per byte; 2 still admits a(y), a(yy) and ab of any length.
        private const int ValuesPerByte = 2;
        private const int ValuesBase = 4096;

        private long _remaining = ValuesBase + (ValuesPerByte * (long)inputLength);

        /// <summary>Whether to enforce normal form (minimal offset widths) while decoding.</summary>
        public bool Normal => normal;

        /// <summary>Charges an array of <paramref name="count"/> elements before it is allocated.</summary>
        public void Reserve(int count, GVariantType element)
        {
            // Nested arrays charge for themselves when they are decoded.
            _remaining -= (long)count * element.ValueCount;
            if (_remaining < 0)
            {
                throw new InvalidDataException(
                    $"array of {count} '{GVariantType.Printable(element.Signature)}' elements would decode into more than {ValuesPerByte} values per byte of input");
            }
        }
    }

    private static void RequireZeroPadding(ReadOnlySpan<byte> padding, int index)
    {
        if (padding.ContainsAnyExcept((byte)0))
        {
            throw new InvalidDataException($"non-zero alignment padding before element {index}");
        }
    }

    private static ulong ReadOffset(ReadOnlySpan<byte> d) => d.Length switch
    {
        1 => d[0],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(d),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(d),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(d),
    };

    private static string FirstDifference(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        var i = expected.CommonPrefixLength(actual);
        return i >= actual.Length || i >= expected.Length
            ? $"{actual.Length} bytes where normal form has {expected.Length}"
            : $"byte {i} is 0x{actual[i]:x2} where normal form has 0x{expected[i]:x2}";
    }
}
