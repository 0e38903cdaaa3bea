using OstreeContainer.ImagePuller;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Sysroot;

/// <summary>Which sysroot, and how images are fetched and verified for it.</summary>
public sealed record SysrootOptions
{
    /// <summary>The sysroot (holding <c>ostree/repo</c> and <c>boot/</c>), made by <c>ostree admin init-fs</c>.</summary>
    public required string Sysroot { get; init; }

    /// <summary>
    /// The stateroot. Required by deploy; for upgrade and switch, null means the booted
    /// deployment's, else the first listed.
    /// </summary>
    public string? OsName { get; init; }

    /// <summary>
    /// Trust given on the command line (<c>--keyring</c>, <c>--sign-verify</c>, <c>--remote</c>,
    /// <c>--insecure-no-signature</c>). Combined with what the origin's scheme says (<see cref="SysrootUpdater"/>).
    /// </summary>
    public PullTrust Trust { get; init; } = new();

    /// <summary>The registry client (owned by the caller); null uses one with default options.</summary>
    public RegistryClient? Registry { get; init; }

    /// <summary>The platform an index is resolved to.</summary>
    public Platform Platform { get; init; } = Platform.Current;

    /// <summary>Progress of pulls and what the updater decides, from several threads; must not block.</summary>
    public Action<PullProgress>? Progress { get; init; }

    /// <summary>Bytes free for an unprivileged writer on the filesystem holding a path (default: statvfs).</summary>
    public Func<string, long> FreeSpace { get; init; } = DefaultFreeSpace;

    /// <summary>The <c>ostree</c> executable run for <c>ostree admin …</c>.</summary>
    public string OstreeExecutable { get; init; } = "ostree";

    /// <summary>The sysroot's repository.</summary>
    public string RepoPath => Path.Combine(Sysroot, "ostree", "repo");

    private static long DefaultFreeSpace(string path) => new DriveInfo(path).AvailableFreeSpace;
}

/// <summary>What <see cref="SysrootUpdater.UpgradeAsync"/> is asked to do.</summary>
public enum UpgradeMode
{
    /// <summary>Pull the image the origin names and deploy it.</summary>
    Deploy,

    /// <summary>Say what an upgrade would fetch; write nothing.</summary>
    Check,

    /// <summary>Pull (the sysroot's ref moves); deploy nothing.</summary>
    DownloadOnly,
}

/// <summary>How an upgrade ended.</summary>
public enum UpgradeOutcome
{
    /// <summary>The registry's manifest is the one deployed: nothing was done.</summary>
    NoUpdate,

    /// <summary><see cref="UpgradeMode.Check"/>: an update is available; nothing was written.</summary>
    Available,

    /// <summary><see cref="UpgradeMode.DownloadOnly"/>: the update is in the repo, not deployed.</summary>
    Downloaded,

    /// <summary>The update is deployed (the new default).</summary>
    Deployed,
}

/// <summary>A deployment made from an image.</summary>
/// <param name="Deployment">The new deployment (the default entry).</param>
/// <param name="Origin">The image reference its origin records.</param>
/// <param name="Pull">What the pull did.</param>
public sealed record DeployResult(Deployment Deployment, ContainerImageReference Origin, PullResult Pull);

/// <summary>What an upgrade found and did.</summary>
/// <param name="Outcome">How it ended.</param>
/// <param name="From">The deployment whose origin was followed.</param>
/// <param name="Origin">Its image reference.</param>
/// <param name="Manifest">The manifest digest the registry has now.</param>
/// <param name="DeployedManifest">The manifest <see cref="From"/> came from, when known.</param>
/// <param name="DeployedVersion">The deployed commit's <c>version</c>, if any.</param>
/// <param name="Version">The image's version label, if any.</param>
/// <param name="Plan">What a pull fetches (null for <see cref="UpgradeOutcome.NoUpdate"/>).</param>
/// <param name="BytesNeeded">The free space the pull was checked to need (0 for no update).</param>
/// <param name="Pull">What the pull did (downloaded or deployed), else null.</param>
/// <param name="Deployed">The new deployment, for <see cref="UpgradeOutcome.Deployed"/>.</param>
public sealed record UpgradeResult(
    UpgradeOutcome Outcome,
    Deployment From,
    ContainerImageReference Origin,
    Digest Manifest,
    string? DeployedManifest,
    string? DeployedVersion,
    string? Version,
    PullPlan? Plan,
    long BytesNeeded,
    PullResult? Pull,
    Deployment? Deployed);
