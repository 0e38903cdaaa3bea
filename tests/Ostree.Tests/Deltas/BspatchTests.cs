using OstreeContainer.Ostree.Deltas;

namespace OstreeContainer.Ostree.Tests.Deltas;

public sealed class BspatchTests
{
    private static readonly byte[] Old = RollsumTests.RandomBytes(4000, 21);

    [Fact]
    public void HandWrittenTriplesApplyAsBspatchReadsThem()
    {
        // (3 diff, 2 extra, seek +10), then (2 diff, 0 extra, seek -100): diff bytes add to
        // the old bytes under the cursor, and to nothing where the cursor is outside.
        byte[] old = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160];
        var patch = Concat(
            Control(3, 2, 10), [1, 2, 3], [0xAA, 0xBB],
            Control(2, 0, -100), [0xFF, 1],
            Control(0, 1, 0), [7],
            Control(2, 0, 0), [5, 6]);
        var output = new byte[10];
        Bspatch.Apply(old, patch, output);
        // old cursor: 0..3 -> 3, +10 -> 13: 140 + 0xFF wraps to 139, 150 + 1; then -100 -> -85.
        Assert.Equal(new byte[] { 11, 22, 33, 0xAA, 0xBB, 139, 151, 7, 5, 6 }, output);
    }

    [Fact]
    public void NegativeZeroIsZero()
    {
        var patch = Concat(Control(1, 0, 0), [5]);
        patch[15] = 0x80; // extra length -0
        var output = new byte[1];
        Bspatch.Apply(Old, patch, output);
        Assert.Equal(Old[0] + 5 & 0xFF, output[0]);
    }

    [Fact]
    public void EmptyPatchMakesAnEmptyFile()
    {
        Bspatch.Apply(Old, [], []);
        Bspatch.Apply([], [], []);
    }

    [Fact]
    public void EveryTruncationIsRefused()
    {
        var updated = SimilarTo(Old);
        var patch = Bsdiff.Diff(Old, updated);
        Assert.Equal(updated, BsdiffTests.Patch(Old, patch, updated.Length));
        for (var length = 0; length < patch.Length; length++)
        {
            AssertRefused(patch.AsSpan(0, length).ToArray(), updated.Length);
        }
    }

    [Theory]
    [InlineData(-1, 0, 0, "negative length")]
    [InlineData(0, -1, 0, "negative length")]
    [InlineData(long.MinValue + 1, 0, 0, "negative length")]
    [InlineData(11, 0, 0, "writes 11 diff + 0 extra bytes where 10 output bytes remain")]
    [InlineData(5, 6, 0, "writes 5 diff + 6 extra bytes where 10 output bytes remain")]
    [InlineData(long.MaxValue, long.MaxValue, 0, "where 10 output bytes remain")]
    [InlineData(0, 10, long.MaxValue, "seeks the old file")]
    [InlineData(0, 10, long.MinValue + 1, "seeks the old file")]
    public void BadControlTriplesAreRefused(long diff, long extra, long seek, string expected)
    {
        var patch = Concat(Control(diff, extra, seek), new byte[100]);
        var e = AssertRefused(patch[..(24 + 10)], 10);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LengthsPastThePatchAreRefused()
    {
        var diffPast = AssertRefused(Concat(Control(10, 0, 0), new byte[9]), 10);
        Assert.Contains("10 diff bytes at byte 24 run past the 33-byte patch", diffPast.Message, StringComparison.Ordinal);

        var extraPast = AssertRefused(Concat(Control(4, 6, 0), new byte[9]), 10);
        Assert.Contains("6 extra bytes at byte 28 run past the 33-byte patch", extraPast.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrailingBytesAndShortPatchesAreRefused()
    {
        var exact = Concat(Control(0, 10, 0), new byte[10]);
        Bspatch.Apply(Old, exact, new byte[10]);

        var trailing = AssertRefused(Concat(exact, [0]), 10);
        Assert.Contains("1 bytes after the output was complete", trailing.Message, StringComparison.Ordinal);
        var trailingTriple = AssertRefused(Concat(exact, Control(0, 0, 0)), 10);
        Assert.Contains("24 bytes after", trailingTriple.Message, StringComparison.Ordinal);

        // A patch that stops short of the output: the output's end is never reached.
        var shortPatch = AssertRefused(Concat(Control(0, 5, 0), new byte[5]), 10);
        Assert.Contains("patch ends inside a control triple at byte 29, with 5 output bytes still to write", shortPatch.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomMutationsEitherApplyOrFailWithOneInvalidDataException()
    {
        var updated = SimilarTo(Old);
        var patch = Bsdiff.Diff(Old, updated);
        var random = new Random(22);
        var refused = 0;
        for (var round = 0; round < 3000; round++)
        {
            var mutated = (byte[])patch.Clone();
            var flips = 1 + random.Next(3);
            for (var i = 0; i < flips; i++)
            {
                // Bias towards control triples, where the lengths live.
                var at = random.Next(2) == 0 ? random.Next(Math.Min(mutated.Length, 24)) : random.Next(mutated.Length);
                mutated[at] = random.Next(3) switch { 0 => 0xFF, 1 => 0x80, _ => (byte)random.Next(256) };
            }

            // The output sits inside a larger buffer; nothing beyond it may change.
            var buffer = new byte[updated.Length + 64];
            buffer.AsSpan(updated.Length).Fill(0xA5);
            try
            {
                Bspatch.Apply(Old, mutated, buffer.AsSpan(0, updated.Length));
            }
            catch (InvalidDataException e)
            {
                Assert.DoesNotContain('\n', e.Message);
                refused++;
            }

            Assert.True(buffer.AsSpan(updated.Length).IndexOfAnyExcept((byte)0xA5) < 0);
        }

        Assert.True(refused > 100, $"{refused} refused");
    }

    [Fact]
    public void WrongOutputLengthsAreRefused()
    {
        var updated = SimilarTo(Old);
        var patch = Bsdiff.Diff(Old, updated);
        AssertRefused(patch, updated.Length - 1);
        AssertRefused(patch, updated.Length + 1);
        AssertRefused(patch, 0);
    }

    private static InvalidDataException AssertRefused(byte[] patch, int outputLength)
    {
        var e = Assert.Throws<InvalidDataException>(() => Bspatch.Apply(Old, patch, new byte[outputLength]));
        Assert.StartsWith("bspatch: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    private static byte[] SimilarTo(byte[] old)
    {
        byte[] updated = [.. old.AsSpan(0, 1500), .. "inserted"u8, .. old.AsSpan(1500, 2000), .. old.AsSpan(3600)];
        updated[100] ^= 0x10;
        updated[2500] ^= 0x01;
        return updated;
    }

    private static byte[] Control(long diff, long extra, long seek)
    {
        var bytes = new byte[24];
        Bspatch.WriteOfftout(bytes, diff);
        Bspatch.WriteOfftout(bytes.AsSpan(8), extra);
        Bspatch.WriteOfftout(bytes.AsSpan(16), seek);
        return bytes;
    }

    private static byte[] Concat(params byte[][] parts) => RollsumTests.Concat(parts);
}
