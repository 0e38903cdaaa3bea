using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.ImagePuller;

/// <summary>What to pull, into where, trusting which keys.</summary>
public sealed record ImagePullOptions
{
    /// <summary>Default number of layers fetched and imported at once.</summary>
    public const int DefaultJobs = 4;

    /// <summary>The target repository (archive, bare-user, or bare when running as root).</summary>
    public required string RepoPath { get; init; }

    /// <summary>The image to pull.</summary>
    public required ImageReference Image { get; init; }

    /// <summary>The ref to set; null uses the image's <c>ostree.ref</c> label.</summary>
    public string? Ref { get; init; }

    /// <summary>
    /// Move the ref (default). False imports the commit's objects only: no ref, no pull state
    /// (<c>build --delta-from-image</c> brings a previous image's commit next to the new one
    /// this way, to generate a delta between them).
    /// </summary>
    public bool SetRef { get; init; } = true;

    /// <summary>Which signatures the commit must carry.</summary>
    public PullTrust Trust { get; init; } = new();

    /// <summary>The platform an index is resolved to.</summary>
    public Platform Platform { get; init; } = Platform.Current;

    /// <summary>Layers fetched and imported at once.</summary>
    public int Jobs { get; init; } = DefaultJobs;

    /// <summary>The client for registry images (owned by the caller); null uses one with default options.</summary>
    public RegistryClient? Registry { get; init; }

    /// <summary>Receives progress reports, from several threads; must not block.</summary>
    public Action<PullProgress>? Progress { get; init; }

    /// <summary>The clock GPG key expiry is judged against.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Bounds on the layers of a derived or plain image (they carry no OSTree signature).</summary>
    public Derived.LayerApplyLimits Limits { get; init; } = new();
}

/// <summary>What a pull did.</summary>
/// <param name="Commit">The commit the ref now points at.</param>
/// <param name="Ref">The ref that was set.</param>
/// <param name="Manifest">The manifest digest pulled.</param>
/// <param name="UpToDate">True when the ref already held this image and nothing was done.</param>
/// <param name="LayersFetched">Layers read (downloaded, resumed or taken from the cache).</param>
/// <param name="LayersSkipped">Repo layers not read because an earlier pull imported them or no object was missing.</param>
/// <param name="BytesTransferred">Blob bytes received over the network by this run.</param>
/// <param name="ObjectsWritten">Objects added to the repository.</param>
/// <param name="SignatureVerified">False only with <see cref="PullTrust.InsecureNoSignature"/>.</param>
/// <param name="SignedBy">Who signed, as verified (GPG key id and/or ed25519 key), or null.</param>
/// <param name="Path">How the commit came: by one delta layer, by the repo layers, or not at all (up to date).</param>
/// <param name="Delta">The delta applied on the <see cref="PullPath.Delta"/> path, else null.</param>
/// <param name="FallbackReason">On the <see cref="PullPath.Layers"/> path, why no delta was used (none fits, or the one tried failed and why).</param>
/// <param name="Shape">Which of the three shapes the image has.</param>
/// <param name="BaseCommit">A derived image's base commit (verified, the new commit's parent); the image's commit for an ostree-container image; null for a plain image.</param>
/// <param name="DerivedLayers">Layers applied on top of the base (every layer of a plain image), including those an earlier pull already applied.</param>
/// <param name="Dropped">What the import of derived layers left out, by reason (<c>dev</c>, <c>tmp</c>, …), empty when nothing was.</param>
public sealed record PullResult(
    string Commit,
    string Ref,
    Digest Manifest,
    bool UpToDate,
    int LayersFetched,
    int LayersSkipped,
    long BytesTransferred,
    int ObjectsWritten,
    bool SignatureVerified,
    string? SignedBy,
    PullPath Path = PullPath.Layers,
    DeltaLayerInfo? Delta = null,
    string? FallbackReason = null,
    ImageShape Shape = ImageShape.OstreeContainer,
    string? BaseCommit = null,
    int DerivedLayers = 0,
    IReadOnlyDictionary<string, long>? Dropped = null);
