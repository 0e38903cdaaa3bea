namespace OstreeContainer.ImageFormat;

/// <summary>
/// Metadata keys of a commit that <c>pull</c> wrote for a derived or plain image (an image
/// whose content is not one signed OSTree commit). The first three are ostree-rs-ext's keys,
/// with the same values, so rpm-ostree and bootc read our commits and we read theirs; the
/// <c>ostree.container.*</c> keys are ours. Commits live in repositories for years: see
/// README.md before renaming one.
/// </summary>
public static class CommitMetadataKeys
{
    /// <summary>The manifest digest of the image the commit was imported from (<c>sha256:…</c>).</summary>
    public const string ManifestDigest = "ostree.manifest-digest";

    /// <summary>The manifest, as the exact JSON text the registry served.</summary>
    public const string Manifest = "ostree.manifest";

    /// <summary>The image config, as the exact JSON text whose digest the manifest names.</summary>
    public const string ImageConfig = "ostree.container.image-config";

    /// <summary>The image reference pulled (as given, e.g. <c>docker://host/name@sha256:…</c>).</summary>
    public const string ImageReference = "ostree.container.image-reference";

    /// <summary>A derived image's base commit: verified as any ostree-container image's commit, and the commit's parent.</summary>
    public const string BaseCommit = "ostree.container.base-commit";

    /// <summary>Who signed the base commit (the verifier's summary), or <c>insecure-no-signature</c> when it was not checked.</summary>
    public const string BaseSignedBy = "ostree.container.base-signed-by";

    /// <summary>
    /// Why the layers that carry no OSTree signature (a derived image's own layers, every layer
    /// of a plain image) were trusted: <see cref="TrustDigestPinned"/> or <see cref="TrustInsecure"/>.
    /// </summary>
    public const string DerivedTrust = "ostree.container.derived-trust";

    /// <summary>The diff IDs of the layers applied on top of the base (or of every layer of a plain image), bottom first, comma-separated.</summary>
    public const string DerivedLayers = "ostree.container.derived-layers";

    /// <summary>What the import left out, by reason: <c>REASON=COUNT</c> pairs, comma-separated, sorted (empty when nothing was dropped).</summary>
    public const string Dropped = "ostree.container.dropped";

    /// <summary><see cref="DerivedTrust"/> value: the reference named the manifest by digest and the manifest matched it.</summary>
    public const string TrustDigestPinned = "digest-pinned";

    /// <summary><see cref="DerivedTrust"/> and <see cref="BaseSignedBy"/> value: <c>--insecure-no-signature</c> was given.</summary>
    public const string TrustInsecure = "insecure-no-signature";
}
