using System.Buffers.Binary;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// Applies a bsdiff patch as delta parts carry it (ostree-format.md §8.8): the raw
/// interleaved stream of the mendsley/bsdiff variant, without header or inner compression.
/// Each step is a control triple of signed 64-bit "offtout" integers (x, y, z), then x
/// diff bytes added to the old file, then y extra bytes copied verbatim; z moves the old
/// cursor.
/// </summary>
public static class Bspatch
{
    private const int ControlLength = 3 * sizeof(long);

    /// <summary>
    /// Rebuilds a file of exactly <paramref name="output"/>.Length bytes from
    /// <paramref name="oldData"/> and <paramref name="patch"/>. Every read is bounds-checked
    /// against the patch and the old data; nothing is trusted.
    /// </summary>
    /// <exception cref="InvalidDataException">The patch is truncated, reads or writes out of range, or does not fill the output exactly.</exception>
    public static void Apply(ReadOnlySpan<byte> oldData, ReadOnlySpan<byte> patch, Span<byte> output)
    {
        long oldPos = 0;
        var newPos = 0;
        var p = 0;
        while (newPos < output.Length)
        {
            if (patch.Length - p < ControlLength)
            {
                throw new InvalidDataException($"bspatch: patch ends inside a control triple at byte {p}, with {output.Length - newPos} output bytes still to write");
            }

            var diffLength = ReadOfftout(patch[p..]);
            var extraLength = ReadOfftout(patch[(p + 8)..]);
            var seek = ReadOfftout(patch[(p + 16)..]);
            p += ControlLength;
            if (diffLength < 0 || extraLength < 0 || diffLength > output.Length - newPos || extraLength > output.Length - newPos - diffLength)
            {
                throw new InvalidDataException($"bspatch: control triple at byte {p - ControlLength} writes past the {output.Length}-byte output");
            }

            if (diffLength > patch.Length - p)
            {
                throw new InvalidDataException($"bspatch: {diffLength} diff bytes at byte {p} run past the {patch.Length}-byte patch");
            }

            var diff = patch.Slice(p, (int)diffLength);
            var target = output.Slice(newPos, (int)diffLength);
            diff.CopyTo(target);

            // Diff bytes add to the old bytes where the old cursor is in range (bspatch.c).
            var from = Math.Max(0, -oldPos);
            var to = Math.Min(diffLength, oldData.Length - oldPos);
            for (var i = from; i < to; i++)
            {
                target[(int)i] += oldData[(int)(oldPos + i)];
            }

            p += (int)diffLength;
            newPos += (int)diffLength;
            oldPos += diffLength;

            if (extraLength > patch.Length - p)
            {
                throw new InvalidDataException($"bspatch: {extraLength} extra bytes at byte {p} run past the {patch.Length}-byte patch");
            }

            patch.Slice(p, (int)extraLength).CopyTo(output[newPos..]);
            p += (int)extraLength;
            newPos += (int)extraLength;
            oldPos += seek;
        }

        if (p != patch.Length)
        {
            throw new InvalidDataException($"bspatch: {patch.Length - p} bytes after the output was complete");
        }
    }

    /// <summary>bsdiff's sign-magnitude integer: 63-bit little-endian magnitude, sign in the top bit.</summary>
    internal static long ReadOfftout(ReadOnlySpan<byte> bytes)
    {
        var raw = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var magnitude = (long)(raw & long.MaxValue);
        return (raw >> 63) != 0 ? -magnitude : magnitude;
    }

    /// <summary>The inverse of <see cref="ReadOfftout"/>.</summary>
    internal static void WriteOfftout(Span<byte> bytes, long value)
    {
        var raw = value < 0 ? (ulong)(-value) | (1UL << 63) : (ulong)value;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, raw);
    }
}
