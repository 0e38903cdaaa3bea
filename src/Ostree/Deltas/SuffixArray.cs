using System.Buffers;
using System.Runtime.Intrinsics.X86;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// Suffix arrays by SA-IS (Nong, Zhang and Chan, "Two Efficient Algorithms for Linear Time
/// Suffix Array Construction", 2011): linear time, and little memory besides the array
/// itself: one int per byte for the text with its suffix types, and the reduced problem
/// is solved in place inside the suffix array (as in Yuta Mori's sais). bsdiff's own
/// qsufsort (Larsson-Sadakane) is O(n log n) and needs two int64 arrays; the array
/// produced is the same one, since a suffix array is unique.
/// </summary>
/// <remarks>
/// Induced sorting is bound by cache misses (each step reads the text at a random
/// position), so each symbol is stored together with its type bit in one int and the
/// next reads are prefetched.
/// </remarks>
internal static unsafe class SuffixArray
{
    /// <summary>How many entries ahead of the scan the induction loops prefetch.</summary>
    private const int PrefetchDistance = 24;

    /// <summary>
    /// Writes the suffix array of <paramref name="text"/> into <paramref name="sa"/>
    /// (<paramref name="text"/>.Length entries): the start of each suffix in lexicographic
    /// order, a suffix that is a prefix of another sorting first.
    /// </summary>
    public static void Build(ReadOnlySpan<byte> text, Span<int> sa)
    {
        if (sa.Length != text.Length)
        {
            throw new ArgumentException("the suffix array must have one entry per byte", nameof(sa));
        }

        var n = text.Length;
        if (n == 0)
        {
            return;
        }

        var typed = ArrayPool<int>.Shared.Rent(n);
        try
        {
            // Symbol << 1 | 1 for an S suffix (smaller than the next), 0 for an L suffix; the
            // last suffix is L (larger than the empty suffix after it).
            typed[n - 1] = text[n - 1] << 1;
            for (var i = n - 2; i >= 0; i--)
            {
                int c = text[i], d = text[i + 1];
                typed[i] = (c << 1) | (c < d || (c == d && (typed[i + 1] & 1) != 0) ? 1 : 0);
            }

            fixed (int* t = typed)
            fixed (int* s = sa)
            {
                Sais(t, s, n, byte.MaxValue);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(typed);
        }
    }

    private static bool IsS(int* t, int i) => (t[i] & 1) != 0;

    private static bool IsLms(int* t, int i) => i > 0 && (t[i] & 1) != 0 && (t[i - 1] & 1) == 0;

    /// <summary>SA-IS over typed symbols 0..<paramref name="upper"/> (see <see cref="Build"/>).</summary>
    private static void Sais(int* t, int* sa, int n, int upper)
    {
        if (n == 1)
        {
            sa[0] = 0;
            return;
        }

        var counts = ArrayPool<int>.Shared.Rent(upper + 1);
        var bucket = ArrayPool<int>.Shared.Rent(upper + 1);
        try
        {
            Array.Clear(counts, 0, upper + 1);
            for (var i = 0; i < n; i++)
            {
                counts[t[i] >> 1]++;
            }

            fixed (int* cnt = counts)
            fixed (int* bkt = bucket)
            {
                // Stage 1: sort the LMS substrings by induction from LMS suffixes in text order.
                new Span<int>(sa, n).Fill(-1);
                BucketEnds(cnt, bkt, upper);
                for (var i = n - 1; i >= 1; i--)
                {
                    if (IsLms(t, i))
                    {
                        sa[--bkt[t[i] >> 1]] = i;
                    }
                }

                Induce(t, sa, n, cnt, bkt, upper);

                // Sorted LMS positions to the front.
                var m = 0;
                for (var i = 0; i < n; i++)
                {
                    if (IsLms(t, sa[i]))
                    {
                        sa[m++] = sa[i];
                    }
                }

                // Name the LMS substrings (equal substrings, equal names), parking each name at
                // m + pos/2 (LMS positions are never adjacent), then gather the names in text order
                // at the end of sa: the reduced string.
                new Span<int>(sa + m, n - m).Fill(-1);
                var names = 0;
                int previous = -1, previousLength = 0;
                for (var k = 0; k < m; k++)
                {
                    var pos = sa[k];
                    var length = LmsSubstringLength(t, n, pos);
                    if (previous < 0 || length != previousLength || !new ReadOnlySpan<int>(t + pos, length).SequenceEqual(new ReadOnlySpan<int>(t + previous, length))
                        || pos + length == n || previous + previousLength == n || t[pos + length] != t[previous + previousLength])
                    {
                        names++;
                    }

                    previous = pos;
                    previousLength = length;
                    sa[m + (pos >> 1)] = names - 1;
                }

                var reduced = sa + n - m;
                for (int i = n - 1, j = n - 1; i >= m; i--)
                {
                    if (sa[i] >= 0)
                    {
                        sa[j--] = sa[i];
                    }
                }

                // Stage 2: sort the LMS suffixes through the reduced string's suffix array (in
                // sa[0..m)), recursively unless every name is distinct.
                if (names < m)
                {
                    reduced[m - 1] <<= 1;
                    for (var i = m - 2; i >= 0; i--)
                    {
                        int c = reduced[i], d = reduced[i + 1] >> 1;
                        reduced[i] = (c << 1) | (c < d || (c == d && (reduced[i + 1] & 1) != 0) ? 1 : 0);
                    }

                    Sais(reduced, sa, m, names - 1);
                }
                else
                {
                    for (var i = 0; i < m; i++)
                    {
                        sa[reduced[i]] = i;
                    }
                }

                // LMS positions in text order replace the reduced string; map the reduced
                // suffix array back to them.
                for (int i = 1, j = 0; i < n; i++)
                {
                    if (IsLms(t, i))
                    {
                        reduced[j++] = i;
                    }
                }

                for (var i = 0; i < m; i++)
                {
                    sa[i] = reduced[sa[i]];
                }

                // Stage 3: the sorted LMS suffixes to their bucket ends, then induce everything.
                new Span<int>(sa + m, n - m).Fill(-1);
                BucketEnds(cnt, bkt, upper);
                for (var i = m - 1; i >= 0; i--)
                {
                    var j = sa[i];
                    sa[i] = -1;
                    sa[--bkt[t[j] >> 1]] = j;
                }

                Induce(t, sa, n, cnt, bkt, upper);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(counts);
            ArrayPool<int>.Shared.Return(bucket);
        }
    }

    /// <summary>Length from an LMS position to the next LMS position (or the end of the text).</summary>
    private static int LmsSubstringLength(int* t, int n, int pos)
    {
        var i = pos + 1;
        while (i < n && !IsLms(t, i))
        {
            i++;
        }

        return i - pos;
    }

    /// <summary>L suffixes from bucket heads left to right, then S suffixes from bucket ends right to left.</summary>
    private static void Induce(int* t, int* sa, int n, int* cnt, int* bkt, int upper)
    {
        var prefetch = Sse.IsSupported;
        BucketHeads(cnt, bkt, upper);
        sa[bkt[t[n - 1] >> 1]++] = n - 1;
        for (var i = 0; i < n; i++)
        {
            if (prefetch && i + PrefetchDistance < n)
            {
                Sse.Prefetch0(t + sa[i + PrefetchDistance] - 1);
            }

            var v = sa[i] - 1;
            if (v >= 0 && !IsS(t, v))
            {
                sa[bkt[t[v] >> 1]++] = v;
            }
        }

        BucketEnds(cnt, bkt, upper);
        for (var i = n - 1; i >= 0; i--)
        {
            if (prefetch && i >= PrefetchDistance)
            {
                Sse.Prefetch0(t + sa[i - PrefetchDistance] - 1);
            }

            var v = sa[i] - 1;
            if (v >= 0 && IsS(t, v))
            {
                sa[--bkt[t[v] >> 1]] = v;
            }
        }
    }

    private static void BucketHeads(int* cnt, int* bkt, int upper)
    {
        var sum = 0;
        for (var c = 0; c <= upper; c++)
        {
            bkt[c] = sum;
            sum += cnt[c];
        }
    }

    private static void BucketEnds(int* cnt, int* bkt, int upper)
    {
        var sum = 0;
        for (var c = 0; c <= upper; c++)
        {
            sum += cnt[c];
            bkt[c] = sum;
        }
    }
}
