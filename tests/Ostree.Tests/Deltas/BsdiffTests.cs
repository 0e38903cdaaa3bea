using OstreeContainer.Ostree.Deltas;

namespace OstreeContainer.Ostree.Tests.Deltas;

public sealed class BsdiffTests
{
    [Fact]
    public void SuffixArraysAreTheSortedSuffixes()
    {
        var random = new Random(1);
        for (var round = 0; round < 400; round++)
        {
            var alphabet = (round % 4) switch { 0 => 2, 1 => 3, 2 => 16, _ => 256 };
            var text = new byte[random.Next(0, 300)];
            for (var i = 0; i < text.Length; i++)
            {
                text[i] = (byte)(random.Next(alphabet) * (256 / alphabet));
            }

            AssertSuffixArray(text);
        }

        AssertSuffixArray(new byte[1000]);
        AssertSuffixArray([.. Enumerable.Repeat("ab"u8.ToArray(), 500).SelectMany(x => x)]);
        AssertSuffixArray([.. Enumerable.Repeat("abcabd"u8.ToArray(), 200).SelectMany(x => x), 0xFF]);
        AssertSuffixArray([0xFF, 0xFF, 0xFE, 0xFF]);

        // Large enough for several levels of recursion, and long repeats (deep LMS ties).
        var fourLetters = new byte[50_000];
        for (var i = 0; i < fourLetters.Length; i++)
        {
            fourLetters[i] = (byte)(random.Next(4) + 'a');
        }

        AssertSuffixArray(fourLetters);
        var block = RollsumTests.RandomBytes(1000, 9);
        AssertSuffixArray([.. block, .. block, .. block.AsSpan(0, 500), .. block, .. block, 7, .. block]);
    }

    [Fact]
    public void EveryBsdiffPatchInOstreesOwnDeltaIsTheOneWeMake()
    {
        // The real peer as oracle: ostree 2022.7's bundled bsdiff wrote these patches for
        // C1 -> C2; from the same old and new objects we must make the same bytes.
        var patches = BsdiffOstreeDelta.Patches;
        Assert.Equal(48, patches.Count);
        foreach (var p in patches)
        {
            Assert.Equal(p.Patch, Bsdiff.Diff(p.Old, p.New));
            Assert.Equal(p.New, Patch(p.Old, p.Patch, p.New.Length));
        }
    }

    [Fact]
    public void AFixtureBinaryThatChangedRoundTripsWithAPatchNoLargerThanItsChange()
    {
        // libexample.so.1: 2 MiB, its first 256 KiB rewritten in tree2. The compressed patch
        // costs about the rewritten bytes (random, so incompressible) and little more.
        var os = Fixtures.OsRepo;
        var old = File.ReadAllBytes(Path.Combine(os.Tree1, "usr/lib/exampleos/libexample.so.1"));
        var updated = File.ReadAllBytes(Path.Combine(os.Tree2, "usr/lib/exampleos/libexample.so.1"));
        Assert.NotEqual(old, updated);
        var changed = CountDifferingFromFirstToLast(old, updated);

        var patch = Bsdiff.Diff(old, updated);

        Assert.Equal(updated, Patch(old, patch, updated.Length));
        var compressed = Xz.Compress(patch).Length;
        Assert.InRange(compressed, 1, changed + (changed / 20) + 4096);
        Assert.True(compressed < updated.Length / 4, $"{compressed} bytes compressed for a {updated.Length}-byte file");
    }

    [Fact]
    public void TextEditsInFixtureFilesMakeSmallPatchesThatRoundTrip()
    {
        var os = Fixtures.OsRepo;
        var checkedPairs = 0;
        foreach (var newPath in Directory.EnumerateFiles(Path.Combine(os.Tree2, "usr/share/doc"), "copyright", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Take(20))
        {
            var oldPath = Path.Combine(os.Tree1, Path.GetRelativePath(os.Tree2, newPath));
            var old = File.ReadAllBytes(oldPath);
            var updated = File.ReadAllBytes(newPath);
            if (old.AsSpan().SequenceEqual(updated))
            {
                continue;
            }

            var patch = Bsdiff.Diff(old, updated);
            Assert.Equal(updated, Patch(old, patch, updated.Length));
            Assert.True(Xz.Compress(patch).Length < 300, $"{newPath}: {Xz.Compress(patch).Length} bytes for a {updated.Length - old.Length}-byte edit");
            checkedPairs++;
        }

        Assert.True(checkedPairs >= 10, $"{checkedPairs} changed pairs");
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 1000)]
    [InlineData(1000, 0)]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(5000, 5000)]
    [InlineData(100_000, 120_000)]
    public void UnrelatedRandomFilesRoundTrip(int oldSize, int newSize)
    {
        var old = RollsumTests.RandomBytes(oldSize, oldSize);
        var updated = RollsumTests.RandomBytes(newSize, newSize + 1);
        var patch = Bsdiff.Diff(old, updated);
        Assert.Equal(updated, Patch(old, patch, newSize));
    }

    [Fact]
    public void EmptyAndIdenticalFilesMakeTheMinimalPatches()
    {
        var data = RollsumTests.RandomBytes(50_000, 2);

        // Nothing to write: no control triple at all, as bsdiff writes nothing.
        Assert.Empty(Bsdiff.Diff(data, []));
        Assert.Empty(Bsdiff.Diff([], []));

        // From nothing: one triple, all extra bytes.
        var fromEmpty = Bsdiff.Diff([], data);
        Assert.Equal(24 + data.Length, fromEmpty.Length);
        Assert.Equal(0, Bspatch.ReadOfftout(fromEmpty));
        Assert.Equal(data.Length, Bspatch.ReadOfftout(fromEmpty.AsSpan(8)));
        Assert.Equal(data, fromEmpty.AsSpan(24).ToArray());

        // Identical: one triple of all diff bytes, every one zero.
        var same = Bsdiff.Diff(data, data);
        Assert.Equal(24 + data.Length, same.Length);
        Assert.Equal(data.Length, Bspatch.ReadOfftout(same));
        Assert.True(same.AsSpan(24).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(data, Patch(data, same, data.Length));
    }

    [Fact]
    public void StructuredEditsRoundTripWithPatchesMuchSmallerThanTheFile()
    {
        var random = new Random(3);
        var old = MakeStructured(random, 300_000);
        List<byte[]> edits =
        [
            // Scattered byte changes (as relocated addresses in a rebuilt binary).
            Mutate(old, random, 500),
            // A block inserted and one deleted.
            [.. old.AsSpan(0, 100_000), .. RollsumTests.RandomBytes(3000, 4), .. old.AsSpan(100_000, 100_000), .. old.AsSpan(210_000)],
            // Blocks moved around.
            [.. old.AsSpan(150_000), .. old.AsSpan(0, 150_000)],
            // Every 4-byte little-endian word shifted by a constant (bsdiff's diff bytes stay repetitive).
            AddToWords(old, 0x1000),
        ];

        foreach (var updated in edits)
        {
            var patch = Bsdiff.Diff(old, updated);
            Assert.Equal(updated, Patch(old, patch, updated.Length));
            var compressed = Xz.Compress(patch).Length;
            Assert.True(compressed < Xz.Compress(updated).Length / 5, $"{compressed} bytes compressed vs {Xz.Compress(updated).Length} for the file");
        }
    }

    [Fact]
    public void ManySmallRandomPairsRoundTrip()
    {
        var random = new Random(5);
        for (var round = 0; round < 300; round++)
        {
            var old = new byte[random.Next(0, 200)];
            for (var i = 0; i < old.Length; i++)
            {
                old[i] = (byte)random.Next(4);
            }

            var updated = round % 2 == 0 ? Mutate(old, random, random.Next(0, 10)) : [.. old.AsSpan(0, random.Next(old.Length + 1)), .. RollsumTests.RandomBytes(random.Next(20), round)];
            Assert.Equal(updated, Patch(old, Bsdiff.Diff(old, updated), updated.Length));
        }
    }

    internal static byte[] Patch(byte[] old, byte[] patch, int newLength)
    {
        var output = new byte[newLength];
        Bspatch.Apply(old, patch, output);
        return output;
    }

    private static void AssertSuffixArray(byte[] text)
    {
        var expected = Enumerable.Range(0, text.Length).ToArray();
        Array.Sort(expected, (a, b) => text.AsSpan(a).SequenceCompareTo(text.AsSpan(b)));
        var actual = new int[text.Length];
        SuffixArray.Build(text, actual);
        Assert.Equal(expected, actual);
    }

    private static int CountDifferingFromFirstToLast(byte[] a, byte[] b)
    {
        var first = a.AsSpan().CommonPrefixLength(b);
        var last = a.Length - 1;
        while (last > first && a[last] == b[last])
        {
            last--;
        }

        return last - first + 1;
    }

    private static byte[] MakeStructured(Random random, int size)
    {
        // Text-like and table-like runs: repetitive enough for matches to be ambiguous.
        var words = Enumerable.Range(0, 64).Select(i => RollsumTests.RandomBytes(3 + (i % 9), 100 + i)).ToArray();
        var data = new List<byte>(size);
        while (data.Count < size)
        {
            if (random.Next(4) == 0)
            {
                var value = random.Next(1 << 20);
                data.AddRange(BitConverter.GetBytes(value));
            }
            else
            {
                data.AddRange(words[random.Next(words.Length)]);
                data.Add((byte)' ');
            }
        }

        return [.. data.Take(size)];
    }

    private static byte[] Mutate(byte[] data, Random random, int count)
    {
        var copy = (byte[])data.Clone();
        for (var i = 0; i < count && copy.Length > 0; i++)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }

        return copy;
    }

    private static byte[] AddToWords(byte[] data, int delta)
    {
        var copy = (byte[])data.Clone();
        for (var i = 0; i + 4 <= copy.Length; i += 64)
        {
            BitConverter.TryWriteBytes(copy.AsSpan(i), BitConverter.ToInt32(copy, i) + delta);
        }

        return copy;
    }
}
