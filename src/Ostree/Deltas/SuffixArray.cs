using System.Buffers;
using System.Numerics;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// Suffix arrays by SA-IS (Nong, Zhang and Chan, "Two Efficient Algorithms for Linear Time
/// Suffix Array Construction", 2011): linear time, and only O(n) ints of working memory,
/// all rented. bsdiff's own qsufsort (Larsson-Sadakane) is O(n log n) and needs two int64
/// arrays; the array it produces is the same one, since a suffix array is unique.
/// </summary>
internal static class SuffixArray
{
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

        Sais(text, sa, byte.MaxValue);
    }

    /// <summary>SA-IS over an alphabet 0..<paramref name="upper"/>; recursion runs on int "names".</summary>
    private static void Sais<T>(ReadOnlySpan<T> s, Span<int> sa, int upper)
        where T : unmanaged, IBinaryInteger<T>
    {
        var n = s.Length;
        if (n == 0)
        {
            return;
        }

        if (n == 1)
        {
            sa[0] = 0;
            return;
        }

        if (n == 2)
        {
            var first = s[0] < s[1] ? 0 : 1;
            sa[0] = first;
            sa[1] = 1 - first;
            return;
        }

        var isS = ArrayPool<bool>.Shared.Rent(n);
        var sumL = ArrayPool<int>.Shared.Rent(upper + 2);
        var sumS = ArrayPool<int>.Shared.Rent(upper + 2);
        var bucket = ArrayPool<int>.Shared.Rent(upper + 2);
        var lmsMap = ArrayPool<int>.Shared.Rent(n + 1);
        int[]? lms = null;
        try
        {
            // Suffix types: S if smaller than the next suffix, L if larger; the last suffix is L
            // (larger than the empty one that follows it).
            isS[n - 1] = false;
            for (var i = n - 2; i >= 0; i--)
            {
                isS[i] = s[i] == s[i + 1] ? isS[i + 1] : s[i] < s[i + 1];
            }

            // sumL[c]: where bucket c starts (its L suffixes fill from there);
            // sumS[c]: where bucket c's S suffixes start.
            Array.Clear(sumL, 0, upper + 2);
            Array.Clear(sumS, 0, upper + 2);
            for (var i = 0; i < n; i++)
            {
                var c = int.CreateTruncating(s[i]);
                if (isS[i])
                {
                    sumL[c + 1]++;
                }
                else
                {
                    sumS[c]++;
                }
            }

            for (var c = 0; c <= upper; c++)
            {
                sumS[c] += sumL[c];
                if (c < upper)
                {
                    sumL[c + 1] += sumS[c];
                }
            }

            // LMS positions (an S suffix right after an L suffix), in text order.
            var m = 0;
            for (var i = 1; i < n; i++)
            {
                if (!isS[i - 1] && isS[i])
                {
                    lmsMap[i] = m++;
                }
                else
                {
                    lmsMap[i] = -1;
                }
            }

            lmsMap[0] = -1;
            lmsMap[n] = -1;
            lms = ArrayPool<int>.Shared.Rent(Math.Max(m, 1));
            var k = 0;
            for (var i = 1; i < n; i++)
            {
                if (lmsMap[i] >= 0)
                {
                    lms[k++] = i;
                }
            }

            var lmsSpan = lms.AsSpan(0, m);
            Induce(s, sa, isS, sumL, sumS, bucket, upper, lmsSpan);
            if (m == 0)
            {
                return;
            }

            // The LMS substrings now sit in sorted order in sa: name them (equal substrings
            // get equal names) and sort the LMS suffixes recursively by their names.
            var sortedLms = ArrayPool<int>.Shared.Rent(m);
            var names = ArrayPool<int>.Shared.Rent(m);
            var reducedSa = ArrayPool<int>.Shared.Rent(m);
            try
            {
                var j = 0;
                for (var i = 0; i < n; i++)
                {
                    if (lmsMap[sa[i]] >= 0)
                    {
                        sortedLms[j++] = sa[i];
                    }
                }

                var name = 0;
                names[lmsMap[sortedLms[0]]] = 0;
                for (var i = 1; i < m; i++)
                {
                    var l = sortedLms[i - 1];
                    var r = sortedLms[i];
                    var endL = lmsMap[l] + 1 < m ? lms[lmsMap[l] + 1] : n;
                    var endR = lmsMap[r] + 1 < m ? lms[lmsMap[r] + 1] : n;
                    var same = false;
                    if (endL - l == endR - r)
                    {
                        while (l < endL && s[l] == s[r])
                        {
                            l++;
                            r++;
                        }

                        same = l != n && r != n && s[l] == s[r];
                    }

                    if (!same)
                    {
                        name++;
                    }

                    names[lmsMap[sortedLms[i]]] = name;
                }

                Sais<int>(names.AsSpan(0, m), reducedSa.AsSpan(0, m), name);
                for (var i = 0; i < m; i++)
                {
                    sortedLms[i] = lms[reducedSa[i]];
                }

                Induce(s, sa, isS, sumL, sumS, bucket, upper, sortedLms.AsSpan(0, m));
            }
            finally
            {
                ArrayPool<int>.Shared.Return(sortedLms);
                ArrayPool<int>.Shared.Return(names);
                ArrayPool<int>.Shared.Return(reducedSa);
            }
        }
        finally
        {
            ArrayPool<bool>.Shared.Return(isS);
            ArrayPool<int>.Shared.Return(sumL);
            ArrayPool<int>.Shared.Return(sumS);
            ArrayPool<int>.Shared.Return(bucket);
            ArrayPool<int>.Shared.Return(lmsMap);
            if (lms is not null)
            {
                ArrayPool<int>.Shared.Return(lms);
            }
        }
    }

    /// <summary>Induced sorting: seed with the LMS suffixes in the given order, then place L and S suffixes.</summary>
    private static void Induce<T>(ReadOnlySpan<T> s, Span<int> sa, bool[] isS, int[] sumL, int[] sumS, int[] bucket, int upper, ReadOnlySpan<int> lms)
        where T : unmanaged, IBinaryInteger<T>
    {
        var n = s.Length;
        sa.Fill(-1);
        Array.Copy(sumS, bucket, upper + 1);
        foreach (var d in lms)
        {
            sa[bucket[int.CreateTruncating(s[d])]++] = d;
        }

        Array.Copy(sumL, bucket, upper + 1);
        sa[bucket[int.CreateTruncating(s[n - 1])]++] = n - 1;
        for (var i = 0; i < n; i++)
        {
            var v = sa[i];
            if (v >= 1 && !isS[v - 1])
            {
                sa[bucket[int.CreateTruncating(s[v - 1])]++] = v - 1;
            }
        }

        Array.Copy(sumL, bucket, upper + 2);
        for (var i = n - 1; i >= 0; i--)
        {
            var v = sa[i];
            if (v >= 1 && isS[v - 1])
            {
                sa[--bucket[int.CreateTruncating(s[v - 1]) + 1]] = v - 1;
            }
        }
    }
}
