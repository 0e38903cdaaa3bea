using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;

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

    /// <summary>Bound on the old cursor: no real patch seeks near it, and cursor arithmetic cannot overflow within it.</summary>
    private const long CursorLimit = long.MaxValue / 4;

    /// <summary>
    /// Rebuilds a file of exactly <paramref name="output"/>.Length bytes from
    /// <paramref name="oldData"/> and <paramref name="patch"/>. Every read is bounds-checked
    /// against the patch and the old data; nothing is trusted. Stricter than ostree's
    /// bspatch in one way: bytes left in the patch once the output is full are refused.
    /// On failure <paramref name="output"/> holds partial data and must be discarded.
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
                BspatchThrow.TruncatedControl(p, output.Length - newPos);
            }

            var diffLength = ReadOfftout(patch[p..]);
            var extraLength = ReadOfftout(patch[(p + 8)..]);
            var seek = ReadOfftout(patch[(p + 16)..]);
            if (diffLength < 0 || extraLength < 0)
            {
                BspatchThrow.NegativeLength(p, diffLength, extraLength);
            }

            if (diffLength > output.Length - newPos || extraLength > output.Length - newPos - diffLength)
            {
                BspatchThrow.PastOutput(p, diffLength, extraLength, output.Length - newPos);
            }

            p += ControlLength;
            if (diffLength > patch.Length - p)
            {
                BspatchThrow.PastPatch("diff", diffLength, p, patch.Length);
            }

            var length = (int)diffLength;
            AddOld(oldData, oldPos, patch.Slice(p, length), output.Slice(newPos, length));
            p += length;
            newPos += length;
            oldPos += length;

            if (extraLength > patch.Length - p)
            {
                BspatchThrow.PastPatch("extra", extraLength, p, patch.Length);
            }

            length = (int)extraLength;
            patch.Slice(p, length).CopyTo(output.Slice(newPos, length));
            p += length;
            newPos += length;

            // The old cursor may wander outside the old file (diff bytes there are taken
            // as they are), but it must stay far from overflowing: such a seek is corrupt.
            if (seek is > CursorLimit or < -CursorLimit || oldPos + seek is > CursorLimit or < -CursorLimit)
            {
                BspatchThrow.SeekOverflow(p - length - (int)diffLength - ControlLength, seek);
            }

            oldPos += seek;
        }

        if (p != patch.Length)
        {
            BspatchThrow.TrailingBytes(patch.Length - p);
        }
    }

    /// <summary>
    /// target = diff + old[oldPos..], byte-wise and wrapping, where the old cursor is inside
    /// the old file; elsewhere the diff bytes are taken as they are (bspatch.c).
    /// </summary>
    private static void AddOld(ReadOnlySpan<byte> oldData, long oldPos, ReadOnlySpan<byte> diff, Span<byte> target)
    {
        diff.CopyTo(target);
        var from = (int)Math.Clamp(-oldPos, 0, target.Length);
        var to = (int)Math.Clamp(oldData.Length - oldPos, from, target.Length);
        if (from >= to)
        {
            return;
        }

        var old = oldData.Slice((int)(oldPos + from), to - from);
        var span = target[from..to];
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<byte>.Count <= span.Length; i += Vector<byte>.Count)
            {
                (new Vector<byte>(span[i..]) + new Vector<byte>(old[i..])).CopyTo(span[i..]);
            }
        }

        for (; i < span.Length; i++)
        {
            span[i] += old[i];
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

    private static class BspatchThrow
    {
        [DoesNotReturn]
        public static void TruncatedControl(int at, int remaining) =>
            throw new InvalidDataException($"bspatch: patch ends inside a control triple at byte {at}, with {remaining} output bytes still to write");

        [DoesNotReturn]
        public static void NegativeLength(int at, long diff, long extra) =>
            throw new InvalidDataException($"bspatch: control triple at byte {at} has a negative length (diff {diff}, extra {extra})");

        [DoesNotReturn]
        public static void PastOutput(int at, long diff, long extra, int remaining) =>
            throw new InvalidDataException($"bspatch: control triple at byte {at} writes {diff} diff + {extra} extra bytes where {remaining} output bytes remain");

        [DoesNotReturn]
        public static void PastPatch(string what, long length, int at, int patchLength) =>
            throw new InvalidDataException($"bspatch: {length} {what} bytes at byte {at} run past the {patchLength}-byte patch");

        [DoesNotReturn]
        public static void SeekOverflow(int at, long seek) =>
            throw new InvalidDataException($"bspatch: control triple at byte {at} seeks the old file by {seek}, out of range");

        [DoesNotReturn]
        public static void TrailingBytes(int count) =>
            throw new InvalidDataException($"bspatch: {count} bytes after the output was complete");
    }
}
