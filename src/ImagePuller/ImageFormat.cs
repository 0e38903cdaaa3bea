namespace OstreeContainer.ImagePuller;

/// <summary>
/// The labels and annotations of an ostree-container image that a puller reads. They are
/// written by <c>ImageBuilder</c> (<c>ImageLabels</c>); they are repeated here because the
/// puller depends on Ostree and Oci only.
/// </summary>
public static class ImageFormat
{
    /// <summary>Config label and manifest annotation: the commit checksum.</summary>
    public const string CommitLabel = "ostree.commit";

    /// <summary>Config label: the ref the commit was built from (the default target ref).</summary>
    public const string RefLabel = "ostree.ref";

    /// <summary>Config label: the commit's <c>version</c> metadata.</summary>
    public const string VersionLabel = "org.opencontainers.image.version";

    /// <summary>Config label: comma-separated 0-based indexes of the layers holding <c>/ostree/repo</c> content.</summary>
    public const string RepoLayersLabel = "ostree.container.repo-layers";

    /// <summary>Layer annotation naming the <see cref="LayerKind"/>.</summary>
    public const string LayerKindAnnotation = "ostree.container.layer";

    /// <summary>Where the image's archive repo lives inside a layer.</summary>
    public const string RepoPrefix = "ostree/repo/";

    /// <summary>Where objects live inside a layer.</summary>
    public const string ObjectsPrefix = RepoPrefix + "objects/";
}

/// <summary>What a layer of an ostree-container image holds (annotation <see cref="ImageFormat.LayerKindAnnotation"/>).</summary>
public enum LayerKind
{
    /// <summary>Not annotated and not listed in the repo-layers label.</summary>
    Unknown,

    /// <summary>The checked-out tree: never fetched by the puller.</summary>
    Tree,

    /// <summary><c>.filez</c> content objects.</summary>
    Repo,

    /// <summary>Static delta files: not needed to import a commit, so not fetched.</summary>
    Delta,

    /// <summary>Commit, commitmeta, dirtree and dirmeta objects, refs, summary, object map, webserver.</summary>
    Meta,
}
