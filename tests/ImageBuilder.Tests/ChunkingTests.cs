namespace OstreeContainer.ImageBuilder.Tests;

public class ChunkingTests
{
    private static List<(string Path, long Weight)> Tree(int directories, int filesPerDirectory, long size) =>
        [.. Enumerable.Range(0, directories)
            .SelectMany(d => Enumerable.Range(0, filesPerDirectory).Select(f => ($"usr/share/pkg{d:D4}/file{f:D3}", size)))
            .OrderBy(i => i.Item1, StringComparer.Ordinal)];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(14)]
    [InlineData(60)]
    public void Assign_AnyTree_GivesContiguousChunksWithinTheLimit(int maxChunks)
    {
        var items = Tree(300, 20, 3000);

        var chunks = Chunking.Assign(items, maxChunks);

        Assert.Equal(items.Count, chunks.Length);
        Assert.Equal(0, chunks[0]);
        Assert.True(chunks[^1] < maxChunks, $"{chunks[^1] + 1} chunks for a limit of {maxChunks}");
        for (var i = 1; i < chunks.Length; i++)
        {
            Assert.InRange(chunks[i] - chunks[i - 1], 0, 1);
        }

        // The limit is used, not wasted on one giant chunk.
        Assert.True(chunks[^1] + 1 >= Math.Min(maxChunks, 2) - 0, "chunks were not split");
    }

    [Fact]
    public void Assign_EditsInOneDirectory_ChangeFewChunks()
    {
        var before = Tree(300, 20, 3000);
        var after = before.Select(i => i.Path.StartsWith("usr/share/pkg0042/", StringComparison.Ordinal) ? (i.Path, i.Weight + 700) : i).ToList();
        after.AddRange(Enumerable.Range(0, 50).Select(f => ($"usr/share/pkg0100/new{f:D3}", 3000L)));
        after.RemoveAll(i => i.Path.StartsWith("usr/share/pkg0200/", StringComparison.Ordinal));
        after.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));

        var changed = ChangedChunks(before, Chunking.Assign(before, 14), after, Chunking.Assign(after, 14));

        // Three edited places; each may also shift the boundary next to it.
        Assert.InRange(changed, 1, 6);
    }

    [Fact]
    public void Assign_SameInput_SameChunks()
    {
        var items = Tree(120, 7, 12345);

        Assert.Equal(Chunking.Assign(items, 10), Chunking.Assign(items.ToList(), 10));
    }

    [Fact]
    public void Assign_OneHugeFile_StillWithinLimitAndSplitsTheRest()
    {
        var items = Tree(50, 10, 1000);
        items.Insert(0, ("aaa/huge.bin", 500_000_000));

        var chunks = Chunking.Assign(items, 8);

        Assert.True(chunks[^1] < 8);
        Assert.True(chunks[^1] >= 1, "the small files were not split from the huge one");
    }

    // A chunk "changes" when the set of (path, weight) it holds differs between the two runs.
    private static int ChangedChunks(List<(string Path, long Weight)> before, int[] a, List<(string Path, long Weight)> after, int[] b)
    {
        static HashSet<string> Chunks(List<(string Path, long Weight)> items, int[] chunks) =>
            items.Select((item, i) => (item, chunk: chunks[i]))
                .GroupBy(x => x.chunk)
                .Select(g => string.Join("|", g.Select(x => $"{x.item.Path}:{x.item.Weight}")))
                .ToHashSet(StringComparer.Ordinal);

        var old = Chunks(before, a);
        return Chunks(after, b).Count(c => !old.Contains(c));
    }
}
