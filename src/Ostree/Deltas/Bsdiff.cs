using System.Buffers;
using System.Numerics;
using System.Runtime.Intrinsics;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// Makes the bsdiff patches <see cref="Bspatch"/> applies (Colin Percival's algorithm,
/// mendsley/bsdiff stream layout, no header, no inner compression).
/// </summary>
/// <remarks>
/// The old file's suffix array is built by SA-IS (<see cref="SuffixArray"/>) rather than
/// bsdiff's qsufsort; a suffix array is unique, so the searches, the scoring and therefore
/// the patch bytes are those of ostree's bundled bsdiff. Memory: one rented int per old
/// byte for the suffix array (plus SA-IS's transient O(n) work arrays) and the patch.
/// </remarks>
public static class Bsdiff
{
    private const int ControlLength = 3 * sizeof(long);

    /// <summary>
    /// bsdiff's threshold: a new match replaces the current alignment only when it is more
    /// than this many bytes longer than what the current alignment already matches.
    /// </summary>
    private const int MatchBetterBy = 8;

    /// <summary>A patch turning <paramref name="oldData"/> into <paramref name="newData"/>.</summary>
    public static byte[] Diff(ReadOnlySpan<byte> oldData, ReadOnlySpan<byte> newData)
    {
        var oldSize = oldData.Length;
        var newSize = newData.Length;
        var index = ArrayPool<int>.Shared.Rent(oldSize + 1);
        var writer = new PatchWriter(newSize + (newSize / 8) + ControlLength);
        try
        {
            // bsdiff's index has the empty suffix first, then the old file's suffixes in order.
            index[0] = oldSize;
            SuffixArray.Build(oldData, index.AsSpan(1, oldSize));
            var suffixes = index.AsSpan(0, oldSize + 1);

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
                    len = Search(suffixes, oldData, newData[scan..], out pos);
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
            writer.Dispose();
        }
    }

    /// <summary>
    /// bsdiff's search: binary search of the suffix array for the longest prefix of
    /// <paramref name="target"/> in the old file, ending on two neighbours and taking the
    /// longer match (the later one on a tie), exactly as bsdiff.c does.
    /// </summary>
    private static int Search(ReadOnlySpan<int> suffixes, ReadOnlySpan<byte> oldData, ReadOnlySpan<byte> target, out int pos)
    {
        var start = 0;
        var end = suffixes.Length - 1;
        while (end - start >= 2)
        {
            var middle = start + ((end - start) / 2);
            var suffix = oldData[suffixes[middle]..];
            var length = Math.Min(suffix.Length, target.Length);
            if (suffix[..length].SequenceCompareTo(target[..length]) < 0)
            {
                start = middle;
            }
            else
            {
                end = middle;
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
