using OstreeContainer.Ostree.Deltas;

namespace OstreeContainer.Ostree.Tests.Deltas;

public sealed class RollsumTests
{
    [Fact]
    public void Crc32IsZlibs()
    {
        Assert.Equal(0xCBF43926u, RollsumCrc32.Append(0, "123456789"u8));
        var data = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7 % 256)).ToArray();
        Assert.Equal(0x114AD5FFu, RollsumCrc32.Append(0, data));
        Assert.Equal(0x114AD5FFu, RollsumCrc32.Append(RollsumCrc32.Append(0, data.AsSpan(0, 333)), data.AsSpan(333)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(1 << 20)]
    public void RandomDataSplitsAsBupsplitFromEveryStart(int size)
    {
        var data = RandomBytes(size, seed: size);
        Assert.Equal(ReferenceSplit(data), Split(data));
    }

    [Fact]
    public void LongBoundaryFreeStretchesAreCutAt32KiBAsOstreeDoes()
    {
        // All-zero windows never hit a boundary: the zeros force 32 KiB cuts before a later
        // boundary, and a zero tail leaves no boundary at all (ostree's rollsum_end path).
        var data = Concat(RandomBytes(50_000, 1), new byte[200_000], RandomBytes(70_000, 2), new byte[150_000]);
        var chunks = Split(data);
        Assert.Equal(ReferenceSplit(data), chunks);
        Assert.Contains(Rollsum.MaxChunk, chunks);
        Assert.All(chunks, c => Assert.InRange(c, 1, Rollsum.MaxChunk));
        Assert.Equal(data.Length, chunks.Sum());
    }

    [Fact]
    public void AverageChunkIsAbout8KiB()
    {
        var chunks = Split(RandomBytes(4 << 20, 3));
        var average = (4 << 20) / chunks.Count;
        Assert.InRange(average, 6000, 11000);
    }

    [Fact]
    public void InsertingBytesInTheMiddleLeavesMostChunksMatched()
    {
        var old = RandomBytes(2 << 20, 4);
        var inserted = RandomBytes(5000, 5);
        var updated = Concat(old.AsSpan(0, 1 << 20).ToArray(), inserted, old.AsSpan(1 << 20).ToArray());

        var result = Rollsum.Match(old, updated);

        Assert.True(result.IsWorthUsing);
        Assert.True(result.MatchedChunks >= result.TotalChunks - 3, $"{result.MatchedChunks}/{result.TotalChunks}");
        Assert.Equal(Split(updated).Count, result.TotalChunks);
        AssertMatchesAreTrue(old, updated, result);
        Assert.InRange(result.MatchedBytes, updated.Length - (3 * Rollsum.MaxChunk) - inserted.Length, updated.Length - inserted.Length);

        // Consecutive chunks continue each other in the old file: two runs, around the insertion.
        Assert.Equal(2, result.Matches.Count);
        Assert.Equal(0, result.Matches[0].NewOffset);
        Assert.Equal(0, result.Matches[0].OldOffset);
    }

    [Fact]
    public void TheRollsumObjectOfOstreesOwnDeltaIsMatchedAsOstreeMatchedIt()
    {
        // The real peer as oracle: ostree 2022.7 chose rollsum for one object of C1 -> C2;
        // its source-read WRITEs (one per matched chunk) merged as we merge them are our runs.
        var rollsums = BsdiffOstreeDelta.Rollsums;
        Assert.Single(rollsums);
        foreach (var ostree in rollsums)
        {
            var result = Rollsum.Match(ostree.Old, ostree.New);
            Assert.True(result.IsWorthUsing);
            Assert.Equal(ostree.SourceWrites.Count, result.MatchedChunks);
            Assert.Equal(ostree.SourceWrites.Sum(w => w.Length), result.MatchedBytes);
            var merged = new List<RollsumMatch>();
            foreach (var write in ostree.SourceWrites)
            {
                if (merged.Count > 0 && merged[^1].NewOffset + merged[^1].Length == write.NewOffset && merged[^1].OldOffset + merged[^1].Length == write.OldOffset)
                {
                    merged[^1] = merged[^1] with { Length = merged[^1].Length + write.Length };
                }
                else
                {
                    merged.Add(write);
                }
            }

            Assert.Equal(merged, result.Matches);
        }

        // And none of the files ostree bsdiffed would have passed ostree's rollsum rule.
        Assert.All(BsdiffOstreeDelta.Patches, p => Assert.False(Rollsum.Match(p.Old, p.New).IsWorthUsing));
    }

    [Fact]
    public void UnrelatedFilesMatchNothing()
    {
        var result = Rollsum.Match(RandomBytes(1 << 20, 6), RandomBytes(1 << 20, 7));
        Assert.Empty(result.Matches);
        Assert.Equal(0, result.MatchedChunks);
        Assert.Equal(0, result.MatchedBytes);
        Assert.True(result.TotalChunks > 50);
        Assert.False(result.IsWorthUsing);
    }

    [Fact]
    public void AChangedFirstByteDefeatsOstreesMatchingAsInOstree()
    {
        // ostree files each chunk under the CRC32 of its file's first `length` bytes, so
        // when the files' beginnings differ no chunk matches even though nearly all bytes do.
        var old = RandomBytes(1 << 20, 8);
        var updated = (byte[])old.Clone();
        updated[0] ^= 0xFF;

        var result = Rollsum.Match(old, updated);

        Assert.Equal(0, result.MatchedChunks);
        Assert.Equal(ReferenceMatchedChunks(old, updated), result.MatchedChunks);
        Assert.False(result.IsWorthUsing);
    }

    [Fact]
    public void MatchedChunkCountsAreOstreesOnEditedFiles()
    {
        var old = Concat(RandomBytes(300_000, 9), new byte[100_000], RandomBytes(300_000, 10));
        var updated = (byte[])old.Clone();
        updated[200_000] ^= 1;
        updated[650_000] ^= 1;
        var moved = Concat(old.AsSpan(0, 40_000).ToArray(), old.AsSpan(400_000).ToArray(), old.AsSpan(40_000, 360_000).ToArray());

        foreach (var candidate in new[] { updated, moved, old })
        {
            var result = Rollsum.Match(old, candidate);
            Assert.Equal(ReferenceMatchedChunks(old, candidate), result.MatchedChunks);
            AssertMatchesAreTrue(old, candidate, result);
        }

        // Identical 32 KiB chunks of zeros all match the first such old chunk, as in ostree,
        // which takes the first old chunk with equal bytes.
        var same = Rollsum.Match(old, old);
        Assert.Equal(same.TotalChunks, same.MatchedChunks);
        Assert.Equal(old.Length, same.MatchedBytes);
        Assert.Contains(same.Matches, m => m.NewOffset != m.OldOffset);

        var random = RandomBytes(500_000, 12);
        Assert.Equal([new RollsumMatch(0, 0, random.Length)], Rollsum.Match(random, random).Matches);
    }

    [Fact]
    public void EmptyFilesHaveNothingToMatch()
    {
        var data = RandomBytes(10_000, 11);
        var toEmpty = Rollsum.Match(data, []);
        Assert.Equal(0, toEmpty.TotalChunks);
        Assert.False(toEmpty.IsWorthUsing);

        var fromEmpty = Rollsum.Match([], data);
        Assert.Equal(Split(data).Count, fromEmpty.TotalChunks);
        Assert.Equal(0, fromEmpty.MatchedChunks);
        Assert.Empty(fromEmpty.Matches);
    }

    [Theory]
    [InlineData(1, 2, true)]
    [InlineData(2, 4, true)]
    [InlineData(1, 3, false)]
    [InlineData(49, 99, false)]
    [InlineData(50, 100, true)]
    [InlineData(0, 1, false)]
    [InlineData(0, 0, false)]
    public void WorthUsingIsOstreesIntegerFiftyPercentRule(int matched, int total, bool expected) =>
        Assert.Equal(expected, new RollsumResult([], matched, total, 0).IsWorthUsing);

    private static void AssertMatchesAreTrue(byte[] old, byte[] updated, RollsumResult result)
    {
        long previousEnd = 0;
        foreach (var m in result.Matches)
        {
            Assert.True(m.NewOffset >= previousEnd);
            Assert.True(m.Length > 0);
            Assert.Equal(old.AsSpan((int)m.OldOffset, (int)m.Length).ToArray(), updated.AsSpan((int)m.NewOffset, (int)m.Length).ToArray());
            previousEnd = m.NewOffset + m.Length;
        }

        Assert.Equal(result.MatchedBytes, result.Matches.Sum(m => m.Length));
    }

    private static List<int> Split(byte[] data)
    {
        var chunks = new List<int>();
        Rollsum.Split(data, chunks);
        return chunks;
    }

    // The reference: bupsplit_find_ofs and rollsum_chunks_crc32 as ostree runs them, a fresh
    // rollsum over the whole rest of the file from every chunk start.
    private static List<int> ReferenceSplit(byte[] data)
    {
        var chunks = new List<int>();
        var start = 0;
        var end = false;
        while (start < data.Length)
        {
            var remaining = data.Length - start;
            int offset;
            if (!end)
            {
                offset = ReferenceFindOffset(data.AsSpan(start));
                if (offset == 0)
                {
                    end = true;
                    offset = Math.Min(Rollsum.MaxChunk, remaining);
                }
                else if (offset > Rollsum.MaxChunk)
                {
                    offset = Rollsum.MaxChunk;
                }
            }
            else
            {
                offset = Math.Min(Rollsum.MaxChunk, remaining);
            }

            chunks.Add(offset);
            start += offset;
        }

        return chunks;
    }

    private static int ReferenceFindOffset(ReadOnlySpan<byte> buf)
    {
        uint s1 = 64 * 31, s2 = 64 * 63 * 31;
        var window = new byte[64];
        var wofs = 0;
        for (var count = 0; count < buf.Length; count++)
        {
            var drop = window[wofs];
            unchecked
            {
                s1 += (uint)buf[count] - drop;
                s2 += s1 - (64 * (drop + 31u));
            }

            window[wofs] = buf[count];
            wofs = (wofs + 1) % 64;
            if ((s2 & 8191) == 8191)
            {
                return count + 1;
            }
        }

        return 0;
    }

    // ostree's bufmatches, by brute force: a new chunk counts when some old chunk has the
    // same length and the same prefix CRC (ostree's key) and equal bytes.
    private static int ReferenceMatchedChunks(byte[] old, byte[] updated)
    {
        var oldChunks = Starts(Split(old));
        var matched = 0;
        foreach (var (start, length) in Starts(Split(updated)))
        {
            var key = RollsumCrc32.Append(0, updated.AsSpan(0, length));
            if (oldChunks.Any(o => o.Length == length && RollsumCrc32.Append(0, old.AsSpan(0, length)) == key
                && old.AsSpan(o.Start, length).SequenceEqual(updated.AsSpan(start, length))))
            {
                matched++;
            }
        }

        return matched;
    }

    private static List<(int Start, int Length)> Starts(List<int> lengths)
    {
        var result = new List<(int, int)>();
        var start = 0;
        foreach (var length in lengths)
        {
            result.Add((start, length));
            start += length;
        }

        return result;
    }

    internal static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    internal static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
