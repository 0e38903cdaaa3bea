using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Deltas.Generate;

/// <summary>
/// Picks, for each new regular file, one old file to encode it against, the way ostree's
/// <c>_ostree_delta_compute_similar_objects</c> does (ostree-format.md §8.8): an old file
/// with a shared basename, else one sharing the name up to the first dot, whose size is
/// within ±30 %; empty files and <c>.xz</c>/<c>.bz2</c> names never take part.
/// </summary>
internal static class SimilarFiles
{
    /// <summary>ostree's CONTENT_SIZE_SIMILARITY_THRESHOLD_PERCENT.</summary>
    public const int SizeThresholdPercent = 30;

    /// <summary>A regular file with its size and every basename it appears under.</summary>
    public sealed record Candidate(Checksum Checksum, long Size, IReadOnlyList<string> Names);

    /// <summary>
    /// Maps new file → old file. Both lists are given in the order ostree's traversal
    /// first reaches each object; ties in size are broken the way ostree's hash-table walk
    /// and stable sort break them, so the same old file is chosen.
    /// </summary>
    public static Dictionary<Checksum, Checksum> Find(IEnumerable<Candidate> oldFiles, IEnumerable<Candidate> newFiles)
    {
        var from = SortLikeOstree(oldFiles);
        var to = SortLikeOstree(newFiles);
        var result = new Dictionary<Checksum, Checksum>();
        var lower = 0;
        foreach (var target in to)
        {
            if (!IsDeltaCandidate(target))
            {
                continue;
            }

            // guint64 = size * (1.0 ± 0.3): a double product truncated toward zero.
            var min = (ulong)(target.Size * (1.0 - (SizeThresholdPercent / 100.0)));
            var max = (ulong)(target.Size * (1.0 + (SizeThresholdPercent / 100.0)));
            var found = false;
            for (var fuzzy = 0; fuzzy < 2 && !found; fuzzy++)
            {
                for (var j = lower; j < from.Count; j++)
                {
                    var source = from[j];
                    if (!IsDeltaCandidate(source))
                    {
                        continue;
                    }

                    if ((ulong)source.Size < min)
                    {
                        // ostree advances its lower bound by one per undersized file seen;
                        // files are sorted by size, so it never passes a usable one.
                        lower++;
                        continue;
                    }

                    if ((ulong)source.Size > max)
                    {
                        break;
                    }

                    if (!NamesIntersect(source.Names, target.Names, fuzzy == 1))
                    {
                        continue;
                    }

                    result[target.Checksum] = source.Checksum;
                    found = true;
                    break;
                }
            }
        }

        return result;
    }

    // ostree collects the files in a GHashTable keyed by hex checksum, steals them out in
    // table order, then g_ptr_array_sort's them by size (a stable merge sort).
    private static List<Candidate> SortLikeOstree(IEnumerable<Candidate> files)
    {
        var ordered = GLibHashOrder<Candidate>.Order(files.Select(f => new KeyValuePair<string, Candidate>(f.Checksum.ToString(), f)));
        return [.. ordered.Select(e => e.Value).OrderBy(c => c.Size)];
    }

    private static bool IsDeltaCandidate(Candidate file)
    {
        if (file.Size == 0)
        {
            return false;
        }

        foreach (var name in file.Names)
        {
            var dot = name.LastIndexOf('.');
            if (dot >= 0 && name.AsSpan(dot + 1) is "xz" or "bz2")
            {
                return false;
            }
        }

        return true;
    }

    // string_array_nonempty_intersection: exact names, or in the fuzzy pass the non-empty
    // part before the first dot when both names have one at the same position.
    private static bool NamesIntersect(IReadOnlyList<string> a, IReadOnlyList<string> b, bool fuzzy)
    {
        foreach (var x in a)
        {
            var xDot = x.IndexOf('.');
            foreach (var y in b)
            {
                var yDot = y.IndexOf('.');
                if (fuzzy && xDot >= 0 && yDot > 0 && xDot == yDot)
                {
                    if (x.AsSpan(0, xDot).SequenceEqual(y.AsSpan(0, yDot)))
                    {
                        return true;
                    }
                }
                else if (x == y)
                {
                    return true;
                }
            }
        }

        return false;
    }
}
