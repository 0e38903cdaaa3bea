using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.Intrinsics;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// Makes the bsdiff patches <see cref="Bspatch"/> applies (Colin Percival's algorithm,
/// mendsley/bsdiff stream layout, no header, no inner compression).
/// </summary>
/// <remarks>
/// The old file's suffix array is built by SA-IS (<see cref="SuffixArray"/>) rather than
/// bsdiff's qsufsort; a suffix array is unique, and the search, scoring and extension
/// loops are bsdiff's step for step, so the patch bytes are those of ostree's bundled
/// bsdiff (checked against every BSPATCH in ostree's own delta of the OS fixture).
/// Memory, all rented: one int per old byte for the suffix array, one more while it is
/// built, a 1 MiB cache of the binary search's first levels, and the patch (about the new
/// file's size); ostree's bsdiff needs two int64 per old byte.
/// </remarks>
public static class Bsdiff
{
    private const int ControlLength = 3 * sizeof(long);

    /// <summary>
    /// bsdiff's threshold: a new match replaces the current alignment only when it is more
    /// than this many bytes longer than what the current alignment already matches.
    /// </summary>
    private const int MatchBetterBy = 8;

    /// <summary>Levels of the binary search cached in <see cref="SearchNode"/>s: 2^16 nodes, 1 MiB, stays in cache.</summary>
    private const int SearchTreeLevels = 16;

    /// <summary>A patch turning <paramref name="oldData"/> into <paramref name="newData"/>.</summary>
    /// <remarks>Thread-safe; callers may diff several pairs at once (each call rents its own buffers).</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The old file is too large for an array-indexed suffix array.</exception>
    public static byte[] Diff(ReadOnlySpan<byte> oldData, ReadOnlySpan<byte> newData)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(oldData.Length, Array.MaxLength, nameof(oldData));
        var oldSize = oldData.Length;
        var newSize = newData.Length;
        var index = ArrayPool<int>.Shared.Rent(oldSize + 1);
        var writer = new PatchWriter(newSize + (newSize / 8) + ControlLength);
        SearchNode[]? tree = null;
        try
        {
            // bsdiff's index has the empty suffix first, then the old file's suffixes in order.
            index[0] = oldSize;
            SuffixArray.Build(oldData, index.AsSpan(1, oldSize));
            var suffixes = index.AsSpan(0, oldSize + 1);
            var levels = Math.Min(SearchTreeLevels, BitOperations.Log2((uint)oldSize + 1));
            tree = ArrayPool<SearchNode>.Shared.Rent(1 << levels);
            BuildSearchTree(suffixes, oldData, tree.AsSpan(0, 1 << levels));
            var searchTree = tree.AsSpan(0, 1 << levels);

            int scan = 0, len = 0, pos = 0;
            int lastScan = 0, lastPos = 0, lastOffset = 0;
            while (scan < newSize)
            {
                // Find the next match worth switching to: one the current alignment
                // (lastOffset) does not already cover nearly as well.
                long oldScore = 0;
                int scsc;
                for (scsc = scan += len; scan < newSize; scan++)
                {
                    len = Search(suffixes, oldData, searchTree, newData[scan..], out pos);
                    oldScore += CountEqualAtOffset(oldData, newData, scsc, scan + len, lastOffset);
                    scsc = Math.Max(scsc, scan + len);
                    if ((len == oldScore && len != 0) || len > oldScore + MatchBetterBy)
                    {
                        break;
                    }

                    if (IsEqualAtOffset(oldData, newData, scan, lastOffset))
                    {
                        oldScore--;
                    }
                }

                if (len == oldScore && scan != newSize)
                {
                    continue;
                }

                // Extend the previous match forwards and this one backwards, as far as
                // more than half of the bytes agree, then split any overlap where it
                // scores best.
                long s = 0, bestForward = 0;
                var lenf = 0;
                for (var i = 0; lastScan + i < scan && lastPos + i < oldSize;)
                {
                    if (oldData[lastPos + i] == newData[lastScan + i])
                    {
                        s++;
                    }

                    i++;
                    if ((s * 2) - i > (bestForward * 2) - lenf)
                    {
                        bestForward = s;
                        lenf = i;
                    }
                }

                var lenb = 0;
                if (scan < newSize)
                {
                    s = 0;
                    long bestBackward = 0;
                    for (var i = 1; scan >= lastScan + i && pos >= i; i++)
                    {
                        if (oldData[pos - i] == newData[scan - i])
                        {
                            s++;
                        }

                        if ((s * 2) - i > (bestBackward * 2) - lenb)
                        {
                            bestBackward = s;
                            lenb = i;
                        }
                    }
                }

                if (lastScan + lenf > scan - lenb)
                {
                    var overlap = lastScan + lenf - (scan - lenb);
                    s = 0;
                    long bestSplit = 0;
                    var lens = 0;
                    for (var i = 0; i < overlap; i++)
                    {
                        if (newData[lastScan + lenf - overlap + i] == oldData[lastPos + lenf - overlap + i])
                        {
                            s++;
                        }

                        if (newData[scan - lenb + i] == oldData[pos - lenb + i])
                        {
                            s--;
                        }

                        if (s > bestSplit)
                        {
                            bestSplit = s;
                            lens = i + 1;
                        }
                    }

                    lenf += lens - overlap;
                    lenb -= lens;
                }

                var extraLength = scan - lenb - (lastScan + lenf);
                writer.WriteControl(lenf, extraLength, (long)pos - lenb - (lastPos + lenf));
                writer.WriteDifference(newData.Slice(lastScan, lenf), oldData.Slice(lastPos, lenf));
                writer.Write(newData.Slice(lastScan + lenf, extraLength));

                lastScan = scan - lenb;
                lastPos = pos - lenb;
                lastOffset = pos - scan;
            }

            return writer.ToArray();
        }
        finally
        {
            ArrayPool<int>.Shared.Return(index);
            if (tree is not null)
            {
                ArrayPool<SearchNode>.Shared.Return(tree);
            }

            writer.Dispose();
        }
    }

    /// <summary>
    /// bsdiff's search: binary search of the suffix array for the longest prefix of
    /// <paramref name="target"/> in the old file, ending on two neighbours and taking the
    /// longer match (the later one on a tie), exactly as bsdiff.c does. Every search starts
    /// from the whole array, so its first steps always visit the same entries: those are
    /// decided from <paramref name="tree"/>'s cached 8-byte prefixes, the same comparisons
    /// without the two cache misses each one costs in the suffix array and the old file.
    /// </summary>
    private static int Search(ReadOnlySpan<int> suffixes, ReadOnlySpan<byte> oldData, ReadOnlySpan<SearchNode> tree, ReadOnlySpan<byte> target, out int pos)
    {
        var start = 0;
        var end = suffixes.Length - 1;
        var node = 1;
        var targetPrefix = Prefix(target);
        while (end - start >= 2)
        {
            int middle;
            bool less;
            if (node < tree.Length)
            {
                ref readonly var cached = ref tree[node];
                middle = cached.Middle;
                var length = Math.Min(oldData.Length - cached.Suffix, target.Length);
                if (length == 0)
                {
                    less = false;
                }
                else
                {
                    var mask = ulong.MaxValue << (64 - (8 * Math.Min(length, sizeof(ulong))));
                    var a = cached.Prefix & mask;
                    var b = targetPrefix & mask;
                    less = a != b
                        ? a < b
                        : length > sizeof(ulong) && oldData.Slice(cached.Suffix + sizeof(ulong), length - sizeof(ulong)).SequenceCompareTo(target[sizeof(ulong)..length]) < 0;
                }
            }
            else
            {
                middle = start + ((end - start) / 2);
                var suffix = oldData[suffixes[middle]..];
                var length = Math.Min(suffix.Length, target.Length);
                less = suffix[..length].SequenceCompareTo(target[..length]) < 0;
            }

            if (less)
            {
                start = middle;
                node = (2 * node) + 1;
            }
            else
            {
                end = middle;
                node *= 2;
            }
        }

        var x = oldData[suffixes[start]..].CommonPrefixLength(target);
        var y = oldData[suffixes[end]..].CommonPrefixLength(target);
        if (x > y)
        {
            pos = suffixes[start];
            return x;
        }

        pos = suffixes[end];
        return y;
    }

    /// <summary>Up to the first 8 bytes, big-endian (so unsigned order is memcmp order), zero-padded.</summary>
    private static ulong Prefix(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length >= sizeof(ulong))
        {
            return BinaryPrimitives.ReadUInt64BigEndian(bytes);
        }

        ulong value = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            value |= (ulong)bytes[i] << (56 - (8 * i));
        }

        return value;
    }

    /// <summary>
    /// The first <paramref name="tree"/>.Length - 1 nodes, in heap order (root 1, children
    /// 2i and 2i + 1), of the binary search every <see cref="Search"/> starts with.
    /// </summary>
    private static void BuildSearchTree(ReadOnlySpan<int> suffixes, ReadOnlySpan<byte> oldData, Span<SearchNode> tree)
    {
        // An explicit stack of (node, start, end): depth is at most SearchTreeLevels.
        Span<(int Node, int Start, int End)> stack = stackalloc (int, int, int)[(2 * SearchTreeLevels) + 2];
        var top = 0;
        stack[top++] = (1, 0, suffixes.Length - 1);
        while (top > 0)
        {
            var (node, start, end) = stack[--top];
            if (node >= tree.Length || end - start < 2)
            {
                continue;
            }

            var middle = start + ((end - start) / 2);
            var suffix = suffixes[middle];
            tree[node] = new SearchNode(Prefix(oldData[suffix..]), middle, suffix);
            stack[top++] = ((2 * node) + 1, middle, end);
            stack[top++] = (2 * node, start, middle);
        }
    }

    /// <summary>One cached step of the binary search: the entry it compares with and that suffix's first bytes.</summary>
    private readonly record struct SearchNode(ulong Prefix, int Middle, int Suffix);

    /// <summary>How many new bytes in [<paramref name="from"/>, <paramref name="to"/>) equal the old byte <paramref name="offset"/> away.</summary>
    private static int CountEqualAtOffset(ReadOnlySpan<byte> oldData, ReadOnlySpan<byte> newData, int from, int to, int offset)
    {
        // Only new positions whose old counterpart lies inside the old file count.
        var first = Math.Max(from, -offset);
        var last = Math.Min(to, oldData.Length - offset);
        if (first >= last)
        {
            return 0;
        }

        var a = newData[first..last];
        var b = oldData.Slice(first + offset, last - first);
        var count = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<byte>.Count <= a.Length; i += Vector256<byte>.Count)
            {
                var equal = Vector256.Equals(Vector256.Create(a[i..]), Vector256.Create(b[i..]));
                count += BitOperations.PopCount(equal.ExtractMostSignificantBits());
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; i + Vector128<byte>.Count <= a.Length; i += Vector128<byte>.Count)
            {
                var equal = Vector128.Equals(Vector128.Create(a[i..]), Vector128.Create(b[i..]));
                count += BitOperations.PopCount(equal.ExtractMostSignificantBits());
            }
        }

        for (; i < a.Length; i++)
        {
            if (a[i] == b[i])
            {
                count++;
            }
        }

        return count;
    }

    private static bool IsEqualAtOffset(ReadOnlySpan<byte> oldData, ReadOnlySpan<byte> newData, int at, int offset)
    {
        var oldAt = at + offset;
        return (uint)oldAt < (uint)oldData.Length && oldData[oldAt] == newData[at];
    }

    /// <summary>The patch being written, in one rented buffer that doubles as needed.</summary>
    private struct PatchWriter : IDisposable
    {
        private byte[] _buffer;
        private int _length;

        public PatchWriter(int capacity)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, ControlLength));
        }

        public void WriteControl(long diffLength, long extraLength, long seek)
        {
            var span = Reserve(ControlLength);
            Bspatch.WriteOfftout(span, diffLength);
            Bspatch.WriteOfftout(span[8..], extraLength);
            Bspatch.WriteOfftout(span[16..], seek);
        }

        /// <summary>The byte-wise difference new - old, wrapping, as bspatch adds it back.</summary>
        public void WriteDifference(ReadOnlySpan<byte> newBytes, ReadOnlySpan<byte> oldBytes)
        {
            var target = Reserve(newBytes.Length);
            var i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; i + Vector<byte>.Count <= target.Length; i += Vector<byte>.Count)
                {
                    (new Vector<byte>(newBytes[i..]) - new Vector<byte>(oldBytes[i..])).CopyTo(target[i..]);
                }
            }

            for (; i < target.Length; i++)
            {
                target[i] = (byte)(newBytes[i] - oldBytes[i]);
            }
        }

        public void Write(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

        public readonly byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

        public void Dispose()
        {
            if (_buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = [];
            }
        }

        private Span<byte> Reserve(int count)
        {
            if (_buffer.Length - _length < count)
            {
                var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, (long)_length + count)));
                _buffer.AsSpan(0, _length).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = grown;
            }

            var span = _buffer.AsSpan(_length, count);
            _length += count;
            return span;
        }
    }
}
