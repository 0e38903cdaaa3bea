using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OstreeContainer.ImageBuilder;

/// <summary>
/// Splits a path-sorted list of items into at most N contiguous chunks whose boundaries
/// stay put from one commit to the next, so an update that touches a few files changes
/// a few layers.
/// </summary>
/// <remarks>
/// The rule, content-defined chunking over paths:
/// <list type="number">
/// <item>Items keep their ordinal path order, so a directory's files sit together and a
/// package's files (which share directories) mostly land in one chunk.</item>
/// <item>With T = total weight / N, a chunk closes before item <c>p</c> once it holds at
/// least T/2 and the low bits of SHA-256(<c>p</c>) are zero, with the bit count chosen
/// so a hit comes on average after another T/2; a chunk also closes once it reaches 2T.
/// Because a boundary depends only on the path at it and the weight since the previous
/// boundary, edits move boundaries only near the edit: the chunking re-synchronises at
/// the next hashed boundary.</item>
/// <item>If that gives more than N chunks, the adjacent pair with the smallest combined
/// weight is merged (lowest index on ties) until N remain.</item>
/// </list>
/// </remarks>
public static class Chunking
{
    /// <summary>Bytes a tar header adds to every entry; counts toward an item's weight.</summary>
    public const long EntryOverhead = 512;

    /// <summary>
    /// Chunk index for each item, in item order; indexes are contiguous ranges
    /// 0..count-1 with count ≤ <paramref name="maxChunks"/>.
    /// </summary>
    public static int[] Assign(IReadOnlyList<(string Path, long Weight)> items, int maxChunks)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChunks, 1);
        var result = new int[items.Count];
        if (items.Count == 0 || maxChunks == 1)
        {
            return result;
        }

        var total = items.Sum(i => i.Weight + EntryOverhead);
        var target = Math.Max(1, total / maxChunks);

        // Average items per half-target, rounded down to a power of two: the hash mask.
        var itemsPerHalf = Math.Max(1.0, items.Count * (target / 2.0) / total);
        var mask = (1UL << (int)Math.Floor(Math.Log2(itemsPerHalf))) - 1;

        var starts = new List<int> { 0 };
        long current = 0;
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0 && (current >= 2 * target || (current >= target / 2 && (PathHash(items[i].Path) & mask) == 0)))
            {
                starts.Add(i);
                current = 0;
            }

            current += items[i].Weight + EntryOverhead;
        }

        var weights = new List<long>(starts.Count);
        for (var c = 0; c < starts.Count; c++)
        {
            var end = c + 1 < starts.Count ? starts[c + 1] : items.Count;
            long weight = 0;
            for (var i = starts[c]; i < end; i++)
            {
                weight += items[i].Weight + EntryOverhead;
            }

            weights.Add(weight);
        }

        while (starts.Count > maxChunks)
        {
            var best = 0;
            for (var c = 1; c + 1 < starts.Count; c++)
            {
                if (weights[c] + weights[c + 1] < weights[best] + weights[best + 1])
                {
                    best = c;
                }
            }

            weights[best] += weights[best + 1];
            weights.RemoveAt(best + 1);
            starts.RemoveAt(best + 1);
        }

        for (var c = 0; c < starts.Count; c++)
        {
            var end = c + 1 < starts.Count ? starts[c + 1] : items.Count;
            Array.Fill(result, c, starts[c], end - starts[c]);
        }

        return result;
    }

    private static ulong PathHash(string path)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(path), hash);
        return BinaryPrimitives.ReadUInt64LittleEndian(hash);
    }
}
