namespace OstreeContainer.ImageFormat;

/// <summary>
/// The config label keys of an ostree-container image (also copied to the manifest's
/// annotations, except <see cref="RepoLayers"/>). The <c>ostree.*</c> and
/// <c>containers.bootc</c> keys are the ones rpm-ostree, bootc and ostree-rs-ext already
/// read; the <c>ostree.container.*</c> keys are ours. See README.md before renaming one:
/// images already pushed carry the old name.
/// </summary>
public static class ImageLabelKeys
{
    /// <summary>The commit checksum (label and manifest annotation).</summary>
    public const string Commit = "ostree.commit";

    /// <summary>The ref the commit was built from: the puller's default target ref.</summary>
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
    /// Config label: which layers hold <c>/ostree/repo</c> content, for readers whose copy
    /// lost the layer annotations; written and read by <see cref="RepoLayersLabel"/>.
    /// </summary>
    public const string RepoLayers = "ostree.container.repo-layers";

    /// <summary>
    /// Config label (format 1.2): the diff ID (<c>sha256:…</c>) of the last layer the builder
    /// wrote, the same key and meaning as ostree-rs-ext's. Tools that stack layers on an
    /// image (buildah, podman, docker) copy the base's labels, so in a derived image the
    /// layers after the one with this diff ID are not ours.
    /// </summary>
    public const string FinalDiffId = "ostree.final-diffid";

    /// <summary>
    /// Config label (format 1.3): the delta layers, as <c>DIFFID FROM TO SIZE</c> entries
    /// (<see cref="DeltaLayerAnnotations.FormatLabel"/>), for pullers of a derived image whose
    /// layer annotations were dropped. Config-only, like <see cref="RepoLayers"/>.
    /// </summary>
    public const string DeltaLayers = "ostree.container.delta-layers";

    /// <summary>Config label: the version of this image format (<see cref="FormatVersion"/>).</summary>
    public const string Format = "ostree.container.format";

    /// <summary>The prefix of the labels that describe the image's commit (a derived image drops its base's).</summary>
    public const string OstreePrefix = "ostree.";
}

/// <summary>The annotation keys an ostree-container image puts on its layer descriptors.</summary>
public static class ImageAnnotationKeys
{
    /// <summary>Layer annotation: what the layer holds, a <see cref="LayerKind"/> in lower case (<see cref="LayerKinds"/>).</summary>
    public const string LayerKind = "ostree.container.layer";

    /// <summary>Delta layer annotation (format 1.1): the from-commit, or <c>empty</c> (<see cref="DeltaLayerAnnotations"/>).</summary>
    public const string DeltaFrom = "ostree.container.delta.from";

    /// <summary>Delta layer annotation (format 1.1): the to-commit (<see cref="DeltaLayerAnnotations"/>).</summary>
    public const string DeltaTo = "ostree.container.delta.to";

    /// <summary>Delta layer annotation (format 1.1): bytes of the delta's files (<see cref="DeltaLayerAnnotations"/>).</summary>
    public const string DeltaSize = "ostree.container.delta.size";
}
