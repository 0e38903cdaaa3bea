using System.Buffers;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// Unsigned LEB128 as delta operations encode their arguments (ostree-format.md §8.5):
/// seven bits per byte, least significant group first, high bit set when more follow,
/// at most ten bytes.
/// </summary>
public static class Varint
{
    /// <summary>The longest encoding of a 64-bit value.</summary>
    public const int MaxLength = 10;

    /// <summary>Appends the encoding of <paramref name="value"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, ulong value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var span = writer.GetSpan(MaxLength);
        var n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        writer.Advance(n);
    }

    /// <summary>
    /// Reads one value at <paramref name="position"/> and moves past it; false (position
    /// unchanged) when the bytes end early or the value needs more than 64 bits.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        var shift = 0;
        for (var i = position; i < data.Length && i - position < MaxLength; i++)
        {
            var b = data[i];
            if (shift == 63 && b > 1)
            {
                return false;
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                position = i + 1;
                return true;
            }

            shift += 7;
        }

        value = 0;
        return false;
    }
}
