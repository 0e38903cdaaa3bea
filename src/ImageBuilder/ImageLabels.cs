using System.Globalization;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ImageBuilder;

/// <summary>
/// The label and annotation keys an ostree-container image carries. The <c>ostree.*</c>
/// and <c>containers.bootc</c> keys are the ones rpm-ostree, bootc and ostree-rs-ext
/// already read; the <c>ostree.container.*</c> keys are ours.
/// </summary>
public static class ImageLabels
{
    /// <summary>The commit checksum.</summary>
    public const string Commit = "ostree.commit";

    /// <summary>The ref the commit was built from.</summary>
    public const string Ref = "ostree.ref";

    /// <summary>"true" when the commit holds a kernel (it can be booted).</summary>
    public const string Bootable = "ostree.bootable";

    /// <summary>The kernel version of a bootable commit.</summary>
    public const string Linux = "ostree.linux";

    /// <summary>"1" on bootable images, read by bootc.</summary>
    public const string Bootc = "containers.bootc";

    /// <summary>The commit's <c>version</c> metadata.</summary>
    public const string Version = "org.opencontainers.image.version";

    /// <summary>The commit time (RFC 3339).</summary>
    public const string Created = "org.opencontainers.image.created";

    /// <summary>The commit subject.</summary>
    public const string Title = "org.opencontainers.image.title";

    /// <summary>
    /// Layer annotation: what a layer holds (<see cref="LayerKind"/> in lower case); a
    /// puller fetches <c>repo</c>, <c>delta</c> and <c>meta</c> layers and skips <c>tree</c>.
    /// </summary>
    public const string LayerKindAnnotation = "ostree.container.layer";

    /// <summary>
    /// Config label: comma-separated 0-based indexes (into <c>rootfs.diff_ids</c>) of the
    /// layers that hold <c>/ostree/repo</c> content.
    /// </summary>
    public const string RepoLayers = "ostree.container.repo-layers";

    /// <summary>Config label: the version of ostree-container that built the image.</summary>
    public const string BuilderVersion = "ostree.container.version";

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
            if (!key.StartsWith("ostree.", StringComparison.Ordinal) && key != Bootc)
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
    /// The labels of an image built from <paramref name="commit"/>: a commit is bootable
    /// when its metadata says so or its tree has <c>usr/lib/modules/VERSION/vmlinuz</c>.
    /// User labels are applied last and may override.
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
            [Commit] = checksum.ToString(),
            [Created] = FormatTime(commit.Time),
        };
        if (refName is not null)
        {
            labels[Ref] = refName;
        }

        if (commit.Version is { } version)
        {
            labels[Version] = version;
        }

        if (commit.Subject.Length > 0)
        {
            labels[Title] = commit.Subject;
        }

        var kernel = commit.Metadata.GetString(LinuxMetadataKey) ?? FindKernel(tree);
        var bootable = commit.Metadata[BootableMetadataKey]?.Value is true || kernel is not null;
        if (bootable)
        {
            labels[Bootable] = "true";
            labels[Bootc] = "1";
        }

        if (kernel is not null)
        {
            labels[Linux] = kernel;
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

/// <summary>What a layer of an ostree-container image holds.</summary>
public enum LayerKind
{
    /// <summary>Part of the checked-out tree.</summary>
    Tree,

    /// <summary><c>.filez</c> objects of <c>/ostree/repo</c>, for the tree chunk of the same number.</summary>
    Repo,

    /// <summary>One static delta of <c>/ostree/repo</c>.</summary>
    Delta,

    /// <summary>Repo metadata (commit, trees, refs, summary, config), the object map and the webserver.</summary>
    Meta,
}
