using System.Buffers;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>A run of new-file bytes that equals a run of old-file bytes.</summary>
/// <param name="NewOffset">Start in the new file.</param>
/// <param name="OldOffset">Start in the old file.</param>
/// <param name="Length">Bytes in the run.</param>
public readonly record struct RollsumMatch(long NewOffset, long OldOffset, long Length);

/// <summary>Chunk matches between an old and a new file, with the counts the generator decides on.</summary>
/// <param name="Matches">
/// Matched runs of the new file, in new-file order, not overlapping. Consecutive matched
/// chunks that continue each other in the old file too are merged into one run (ostree
/// writes one WRITE per chunk; one per run applies to the same bytes with fewer operations).
/// </param>
/// <param name="MatchedChunks">How many of the new file's chunks matched (ostree's <c>bufmatches</c>).</param>
/// <param name="TotalChunks">How many chunks the new file split into (ostree's <c>total</c>).</param>
/// <param name="MatchedBytes">Bytes of the new file covered by matches (ostree's <c>match_size</c>).</param>
public sealed record RollsumResult(IReadOnlyList<RollsumMatch> Matches, int MatchedChunks, int TotalChunks, long MatchedBytes)
{
    private const int MinimumMatchPercent = 50;

    /// <summary>
    /// ostree's rule (try_content_rollsum): <c>bufmatches * 100 / total</c>, in integer
    /// arithmetic, is at least 50. ostree divides by zero on a new file with no chunks (it
    /// never asks for one: empty files are not diffed); here that is simply not worth it.
    /// </summary>
    public bool IsWorthUsing => TotalChunks > 0 && (long)MatchedChunks * 100 / TotalChunks >= MinimumMatchPercent;
}

/// <summary>
/// Content-defined chunking with bup's rolling checksum (ostree-format.md §8.8) and chunk
/// matching between two files, as ostree's delta compiler decides between rollsum and bsdiff.
/// </summary>
/// <remarks>
/// The chunks and the matches are ostree's exactly, including one quirk of
/// ostree-rollsum.c: the CRC32 a chunk is filed under is taken over the first
/// <em>length</em> bytes of its file, not over the chunk itself. Two chunks can therefore
/// only match when they have the same length and both files share a CRC-equal prefix of
/// that length; the chunk bytes are then compared in full. Reproducing it keeps our
/// rollsum-or-bsdiff choices equal to ostree's.
/// </remarks>
public static class Rollsum
{
    /// <summary>bup's window: 64 bytes (BUP_WINDOWBITS 7).</summary>
    internal const int WindowSize = 64;

    /// <summary>Added to each byte in the sums (librsync's ROLLSUM_CHAR_OFFSET).</summary>
    private const uint CharOffset = 31;

    /// <summary>A boundary falls where the low BUP_BLOBBITS (13) bits of s2 are all ones.</summary>
    private const uint BoundaryMask = (1u << 13) - 1;

    /// <summary>ostree's ROLLSUM_BLOB_MAX: no chunk is longer (8192 * 4).</summary>
    internal const int MaxChunk = 8192 * 4;

    /// <summary>Splits both files into chunks and matches the new file's chunks against the old file's.</summary>
    public static RollsumResult Match(ReadOnlySpan<byte> oldData, ReadOnlySpan<byte> newData)
    {
        var oldChunks = new List<int>();
        var newChunks = new List<int>();
        Split(oldData, oldChunks);
        Split(newData, newChunks);
        if (newChunks.Count == 0 || oldChunks.Count == 0)
        {
            return new RollsumResult([], 0, newChunks.Count, 0);
        }

        var oldKeys = PrefixKeys(oldData, oldChunks);
        var newKeys = PrefixKeys(newData, newChunks);

        // Old chunks filed by (ostree's key, length, CRC of the chunk itself), each bucket
        // a chain in old-file order: ostree takes the first old chunk of the same key and
        // length whose bytes are equal, and equal bytes imply an equal chunk CRC, so
        // searching only the chunk-CRC bucket finds the same one without comparing every
        // same-length chunk (many 32 KiB chunks share ostree's key).
        var oldStarts = ArrayPool<int>.Shared.Rent(oldChunks.Count);
        var next = ArrayPool<int>.Shared.Rent(oldChunks.Count);
        try
        {
            var heads = new Dictionary<(uint Key, int Length, uint Crc), int>(oldChunks.Count);
            var start = 0;
            for (var i = 0; i < oldChunks.Count; i++)
            {
                oldStarts[i] = start;
                start += oldChunks[i];
            }

            for (var i = oldChunks.Count - 1; i >= 0; i--)
            {
                var length = oldChunks[i];
                var bucket = (oldKeys[length], length, RollsumCrc32.Append(0, oldData.Slice(oldStarts[i], length)));
                next[i] = heads.TryGetValue(bucket, out var head) ? head : -1;
                heads[bucket] = i;
            }

            var matches = new List<RollsumMatch>();
            var matchedChunks = 0;
            long matchedBytes = 0;
            var newStart = 0;
            foreach (var length in newChunks)
            {
                var chunk = newData.Slice(newStart, length);
                if (oldKeys.TryGetValue(length, out var oldKey) && oldKey == newKeys[length]
                    && heads.TryGetValue((oldKey, length, RollsumCrc32.Append(0, chunk)), out var candidate))
                {
                    for (; candidate >= 0; candidate = next[candidate])
                    {
                        if (oldData.Slice(oldStarts[candidate], length).SequenceEqual(chunk))
                        {
                            matchedChunks++;
                            matchedBytes += length;
                            AddMerged(matches, new RollsumMatch(newStart, oldStarts[candidate], length));
                            break;
                        }
                    }
                }

                newStart += length;
            }

            return new RollsumResult(matches, matchedChunks, newChunks.Count, matchedBytes);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(oldStarts);
            ArrayPool<int>.Shared.Return(next);
        }
    }

    /// <summary>Appends a match, extending the previous run when both files continue it.</summary>
    private static void AddMerged(List<RollsumMatch> matches, RollsumMatch match)
    {
        if (matches.Count > 0)
        {
            var last = matches[^1];
            if (last.NewOffset + last.Length == match.NewOffset && last.OldOffset + last.Length == match.OldOffset)
            {
                matches[^1] = last with { Length = last.Length + match.Length };
                return;
            }
        }

        matches.Add(match);
    }

    /// <summary>
    /// ostree's key for each chunk length: CRC32 of the file's first <c>length</c> bytes.
    /// Lengths are at most 32 KiB, so one incremental pass over the sorted lengths suffices.
    /// </summary>
    private static Dictionary<int, uint> PrefixKeys(ReadOnlySpan<byte> data, List<int> chunks)
    {
        var lengths = new SortedSet<int>(chunks);
        var keys = new Dictionary<int, uint>(lengths.Count);
        uint crc = 0;
        var done = 0;
        foreach (var length in lengths)
        {
            crc = RollsumCrc32.Append(crc, data[done..length]);
            done = length;
            keys[length] = crc;
        }

        return keys;
    }

    /// <summary>
    /// ostree's split (rollsum_chunks_crc32): from each chunk start, a fresh bup rollsum runs
    /// to the first boundary in the rest of the file; a chunk is that long, or 32 KiB when
    /// the boundary is further; once no boundary is left, the rest is cut into 32 KiB chunks.
    /// </summary>
    internal static void Split(ReadOnlySpan<byte> data, List<int> chunkLengths)
    {
        var finder = new BoundaryFinder();
        var start = 0;
        var noBoundaryLeft = false;
        while (start < data.Length)
        {
            var remaining = data.Length - start;
            int length;
            if (!noBoundaryLeft)
            {
                length = finder.FirstBoundary(data, start);
                if (length == 0)
                {
                    noBoundaryLeft = true;
                    length = Math.Min(MaxChunk, remaining);
                }
                else if (length > MaxChunk)
                {
                    length = MaxChunk;
                }
            }
            else
            {
                length = Math.Min(MaxChunk, remaining);
            }

            chunkLengths.Add(length);
            start += length;
        }
    }

    /// <summary>
    /// bupsplit_find_ofs without its quadratic rescans. A fresh rollsum's state after 64
    /// bytes depends only on those 64 bytes (its start values differ from a real window's
    /// by a constant that the updates carry along), so a boundary 64 or more bytes past a
    /// chunk start is a property of the file position alone: those are found by one forward
    /// scan, remembered, and reused by the next searches; only the first 63 bytes after each
    /// start are rolled afresh.
    /// </summary>
    private struct BoundaryFinder
    {
        private int _scannedFrom;
        private int _nextWindowBoundary;
        private bool _hasScan;

        /// <summary>The offset just past the first boundary from a fresh start, or 0 if none.</summary>
        public int FirstBoundary(ReadOnlySpan<byte> data, int start)
        {
            var remaining = data.Length - start;
            var fresh = new State();
            var head = Math.Min(WindowSize - 1, remaining);
            for (var i = 0; i < head; i++)
            {
                fresh.Roll(0, data[start + i]);
                if (fresh.IsBoundary)
                {
                    return i + 1;
                }
            }

            if (remaining < WindowSize)
            {
                return 0;
            }

            var end = WindowBoundaryAtOrAfter(data, start + WindowSize);
            return end < 0 ? 0 : end - start;
        }

        /// <summary>The first end position p ≥ <paramref name="from"/> whose 64-byte window is a boundary, or -1.</summary>
        private int WindowBoundaryAtOrAfter(ReadOnlySpan<byte> data, int from)
        {
            if (_hasScan && _scannedFrom <= from && (_nextWindowBoundary < 0 || _nextWindowBoundary >= from))
            {
                return _nextWindowBoundary;
            }

            var state = new State();
            for (var i = from - WindowSize; i < from; i++)
            {
                state.Roll(0, data[i]);
            }

            var found = state.IsBoundary ? from : ScanWindows(data, from, state);
            _hasScan = true;
            _scannedFrom = from;
            _nextWindowBoundary = found;
            return found;
        }
    }

    /// <summary>The first end position after <paramref name="from"/> whose window is a boundary, rolling on from <paramref name="state"/>; -1 if none.</summary>
    private static int ScanWindows(ReadOnlySpan<byte> data, int from, State state)
    {
        // The hot loop of the split, on locals: s1 and s2 as State.Roll updates them.
        var s1 = state.S1;
        var s2 = state.S2;
        var dropped = data[..^WindowSize];
        var added = data[WindowSize..];
        for (var i = from - WindowSize; i < dropped.Length; i++)
        {
            uint drop = dropped[i];
            unchecked
            {
                s1 += added[i] - drop;
                s2 += s1 - (WindowSize * (drop + CharOffset));
            }

            if ((s2 & BoundaryMask) == BoundaryMask)
            {
                return i + WindowSize + 1;
            }
        }

        return -1;
    }

    /// <summary>bup's rolling sums (from librsync), in wrapping 32-bit arithmetic.</summary>
    private struct State
    {
        private uint _s1;
        private uint _s2;

        public State()
        {
            _s1 = WindowSize * CharOffset;
            _s2 = WindowSize * (WindowSize - 1) * CharOffset;
        }

        public readonly bool IsBoundary => (_s2 & BoundaryMask) == BoundaryMask;

        public readonly uint S1 => _s1;

        public readonly uint S2 => _s2;

        public void Roll(byte drop, byte add)
        {
            unchecked
            {
                _s1 += (uint)add - drop;
                _s2 += _s1 - (WindowSize * (drop + CharOffset));
            }
        }
    }
}
