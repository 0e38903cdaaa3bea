using System.Globalization;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ImageBuilder;

/// <summary>
/// Composes the labels of an image built from a commit. The keys, and what a puller reads
/// from them, are the image-format contract (<see cref="ImageLabelKeys"/>).
/// </summary>
public static class ImageLabels
{
    /// <summary>The commit's metadata key that ostree sets for <c>commit --bootable</c>.</summary>
    public const string BootableMetadataKey = "ostree.bootable";

    /// <summary>The commit's metadata key holding the kernel version.</summary>
    public const string LinuxMetadataKey = "ostree.linux";

    /// <summary>
    /// A base image's labels with <paramref name="ours"/> over them. The base's
    /// <c>ostree.*</c> and <c>containers.bootc</c> labels describe its commit, not ours, and are dropped.
    /// </summary>
    public static SortedDictionary<string, string> MergeUnder(IReadOnlyDictionary<string, string> inherited, IReadOnlyDictionary<string, string> ours)
    {
        ArgumentNullException.ThrowIfNull(inherited);
        ArgumentNullException.ThrowIfNull(ours);
        var merged = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in inherited)
        {
            if (!key.StartsWith(ImageLabelKeys.OstreePrefix, StringComparison.Ordinal) && key != ImageLabelKeys.Bootc)
            {
                merged[key] = value;
            }
        }

        foreach (var (key, value) in ours)
        {
            merged[key] = value;
        }

        return merged;
    }

    /// <summary>RFC 3339 form of a commit time, as <c>created</c> fields need it.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// The labels of an image built from <paramref name="commit"/>, with the format version
    /// (<see cref="ImageLabelKeys.Format"/>): a commit is bootable when its metadata says so
    /// or its tree has <c>usr/lib/modules/VERSION/vmlinuz</c>. User labels are applied last
    /// and may override.
    /// </summary>
    public static SortedDictionary<string, string> For(
        Checksum checksum,
        Commit commit,
        string? refName,
        CommitTree tree,
        IEnumerable<KeyValuePair<string, string>> userLabels)
    {
        ArgumentNullException.ThrowIfNull(commit);
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(userLabels);
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [ImageLabelKeys.Commit] = checksum.ToString(),
            [ImageLabelKeys.Created] = FormatTime(commit.Time),
            [ImageLabelKeys.Format] = FormatVersion.Current.ToString(),
        };
        if (refName is not null)
        {
            labels[ImageLabelKeys.Ref] = refName;
        }

        if (commit.Version is { } version)
        {
            labels[ImageLabelKeys.Version] = version;
        }

        if (commit.Subject.Length > 0)
        {
            labels[ImageLabelKeys.Title] = commit.Subject;
        }

        var kernel = commit.Metadata.GetString(LinuxMetadataKey) ?? FindKernel(tree);
        var bootable = commit.Metadata[BootableMetadataKey]?.Value is true || kernel is not null;
        if (bootable)
        {
            labels[ImageLabelKeys.Bootable] = "true";
            labels[ImageLabelKeys.Bootc] = "1";
        }

        if (kernel is not null)
        {
            labels[ImageLabelKeys.Linux] = kernel;
        }

        foreach (var (key, value) in userLabels)
        {
            labels[key] = value;
        }

        return labels;
    }

    private static string? FindKernel(CommitTree tree)
    {
        const string modules = "usr/lib/modules/";
        return tree.Entries
            .Where(e => e.Kind == TreeEntryKind.File && e.Path.StartsWith(modules, StringComparison.Ordinal) && e.Path.EndsWith("/vmlinuz", StringComparison.Ordinal))
            .Select(e => e.Path[modules.Length..^"/vmlinuz".Length])
            .FirstOrDefault(v => !v.Contains('/', StringComparison.Ordinal));
    }
}
