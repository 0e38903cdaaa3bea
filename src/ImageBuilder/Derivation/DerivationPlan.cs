namespace OstreeContainer.ImageBuilder.Derivation;

/// <summary>
/// What a derived image's tree layers must hold so that, stacked on the base, they
/// extract to exactly the commit's tree: the entries that differ from the base, and
/// whiteouts for the base's paths the commit lacks (or holds as another kind).
/// </summary>
/// <param name="Changed">Commit entries to write (root excluded), in path order.</param>
/// <param name="Whiteouts">Base paths to delete, in path order: the topmost of each missing subtree only.</param>
/// <param name="DeduplicatedFiles">Files and symlinks identical in the base, not stored again.</param>
/// <param name="DeduplicatedBytes">Content bytes of those files.</param>
/// <param name="DeduplicatedDirectories">Directories identical in the base.</param>
public sealed record DerivationPlan(
    IReadOnlyList<TreeEntry> Changed,
    IReadOnlyList<string> Whiteouts,
    int DeduplicatedFiles,
    long DeduplicatedBytes,
    int DeduplicatedDirectories)
{
    /// <summary>Compares <paramref name="tree"/> with <paramref name="baseFilesystem"/>.</summary>
    public static DerivationPlan Compute(CommitTree tree, BaseFilesystem baseFilesystem)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(baseFilesystem);
        var changed = new List<TreeEntry>();
        var whiteouts = new List<string>();
        int files = 0, directories = 0;
        long bytes = 0;
        foreach (var entry in tree.Entries)
        {
            if (entry.Path.Length == 0)
            {
                continue;
            }

            if (!baseFilesystem.TryGetEntry(entry.Path, out var existing))
            {
                changed.Add(entry);
                continue;
            }

            if (existing.SameAs(entry))
            {
                if (entry.Kind == TreeEntryKind.Directory)
                {
                    directories++;
                }
                else
                {
                    files++;
                    bytes += entry.Size;
                }

                continue;
            }

            changed.Add(entry);

            // A directory replaced by a file (or the reverse, or anything by a device) is
            // deleted first, so no extractor has to merge the two.
            if ((existing.Kind == BaseEntryKind.Directory) != (entry.Kind == TreeEntryKind.Directory) || existing.Kind == BaseEntryKind.Other)
            {
                whiteouts.Add(entry.Path);
            }
        }

        foreach (var path in baseFilesystem.Paths)
        {
            // Only the top of a missing subtree: a whiteout of a directory removes all below it.
            var parent = CommitTree.Parent(path);
            if (!tree.Contains(path) && (parent.Length == 0 || tree.Directories.ContainsKey(parent)))
            {
                whiteouts.Add(path);
            }
        }

        whiteouts.Sort(StringComparer.Ordinal);
        return new DerivationPlan(changed, whiteouts, files, bytes, directories);
    }
}
