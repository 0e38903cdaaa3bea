using OstreeContainer.ImageFormat;
using OstreeContainer.ImagePuller;
using OstreeContainer.Oci;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Sysroot;

/// <summary>
/// Deploys images into a sysroot and keeps them up to date: the image is pulled into the
/// sysroot's repo by <see cref="ImageImporter"/> (deltas, derived images, verification,
/// resume) under the ref <c>ostree-container/deploy/OS</c>, and only after the pull
/// succeeded is it deployed by the real <c>ostree admin deploy</c> (<see cref="OstreeAdmin"/>)
/// with an origin naming the image (<see cref="DeploymentOrigin"/>). A failed pull leaves the
/// repo's refs and objects as they were and no deployment is touched.
/// </summary>
public sealed class SysrootUpdater
{
    /// <summary>The prefix of the ref each stateroot's image is pulled to (<c>ostree-container/deploy/OS</c>).</summary>
    public const string RefPrefix = "ostree-container/deploy/";

    /// <summary>
    /// Bytes written per byte fetched, for the free-space check: the blobs stay in the blob
    /// cache until the import commits, and the objects they hold are written inflated (gzip
    /// and xz content of an OS tree inflates about 2.5-3x).
    /// </summary>
    public const int BytesWrittenPerByteFetched = 4;

    /// <summary>Room kept free beyond the estimate (metadata, the deployment's /etc, the new kernel under /boot).</summary>
    public const long MarginBytes = 16L << 20;

    private readonly SysrootOptions _options;
    private readonly OstreeAdmin _admin;

    /// <summary>An updater of the sysroot <paramref name="options"/> names.</summary>
    /// <exception cref="SysrootException">The path is not a sysroot.</exception>
    public SysrootUpdater(SysrootOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _admin = new OstreeAdmin(options.Sysroot, options.OstreeExecutable);
        if (!File.Exists(Path.Combine(options.RepoPath, "config")))
        {
            throw new SysrootException($"{options.Sysroot} is not an OSTree sysroot (no ostree/repo): create one with 'ostree admin init-fs {options.Sysroot}'");
        }
    }

    /// <summary>The ref the image of stateroot <paramref name="osName"/> is pulled to.</summary>
    public static string RefFor(string osName) => RefPrefix + osName;

    /// <summary>The deployments, as <c>ostree admin status</c> lists them.</summary>
    public IReadOnlyList<Deployment> Deployments() => _admin.Status();

    /// <summary>
    /// The image to deploy, from a command-line argument: an origin-style reference
    /// (<c>ostree-unverified-registry:…</c> etc.) keeps its scheme; a plain image name
    /// (<c>docker://…</c>, <c>HOST/NAME:TAG</c>, <c>oci:…</c>) gets the scheme the trust
    /// options imply (<see cref="VerificationOf"/>), or none yet when they give none.
    /// </summary>
    /// <exception cref="FormatException">The argument is malformed.</exception>
    public static (ImageReference Image, ContainerImageReference? Origin) ParseTarget(string argument, PullTrust trust)
    {
        ArgumentNullException.ThrowIfNull(argument);
        ArgumentNullException.ThrowIfNull(trust);
        if (ContainerImageReference.HasScheme(argument))
        {
            var origin = ContainerImageReference.Parse(argument);
            return (origin.ToImageReference(), origin);
        }

        var image = ImageReference.Parse(argument);
        return (image, VerificationOf(trust) is { } v ? ContainerImageReference.For(image, v.Verification, v.Remote) : null);
    }

    /// <summary>
    /// The scheme trust options record: <c>--insecure-no-signature</c> unverified, <c>--remote R</c>
    /// that remote, keys (<c>--keyring</c>, <c>--sign-verify</c>) <c>ostree-image-signed</c>; null when none is given.
    /// </summary>
    public static (ImageVerification Verification, string? Remote)? VerificationOf(PullTrust trust)
    {
        ArgumentNullException.ThrowIfNull(trust);
        return trust switch
        {
            { InsecureNoSignature: true } => (ImageVerification.Unverified, null),
            { Remote: { } remote } => (ImageVerification.OstreeRemote, remote),
            { KeyringPath: not null } or { SignVerify.Count: > 0 } => (ImageVerification.Signed, null),
            _ => null,
        };
    }

    /// <summary>
    /// The trust a pull of <paramref name="origin"/> uses: the origin's scheme, with the keys
    /// given on the command line (<paramref name="given"/>). <c>ostree-image-signed</c> needs keys
    /// given; bootc checks it against containers-policy.json, which ostree-container does not read.
    /// </summary>
    /// <exception cref="SysrootException">The scheme and the options disagree, or keys are missing.</exception>
    public static PullTrust TrustFor(ContainerImageReference origin, PullTrust given)
    {
        ArgumentNullException.ThrowIfNull(origin);
        ArgumentNullException.ThrowIfNull(given);
        switch (origin.Verification)
        {
            case ImageVerification.Unverified:
                return given with { InsecureNoSignature = true };
            case ImageVerification.OstreeRemote:
                if (given.Remote is { } other && other != origin.Remote)
                {
                    throw new SysrootException($"--remote {other} contradicts the origin's remote '{origin.Remote}' ({origin})");
                }

                return given with { Remote = origin.Remote };
            default:
                if (given.KeyringPath is null && given.SignVerify.Count == 0)
                {
                    throw new SysrootException(
                        $"{origin} asks for a signed image: pass the keys its commit is signed with (--keyring FILE or --sign-verify ed25519=KEY|file:PATH)");
                }

                return given;
        }
    }

    /// <summary>
    /// Pulls <paramref name="image"/> into the sysroot's repo and deploys it into stateroot
    /// <see cref="SysrootOptions.OsName"/> (created when missing) as the new default, with
    /// <paramref name="kernelArguments"/> (default: the merge deployment's).
    /// </summary>
    /// <param name="image">The image to pull.</param>
    /// <param name="origin">The reference the origin records, when the argument or the options decide it; null records it as the pull verified it.</param>
    /// <param name="kernelArguments">Kernel arguments <c>K=V</c>.</param>
    /// <param name="cancellationToken">Cancels the pull.</param>
    public async Task<DeployResult> DeployAsync(ImageReference image, ContainerImageReference? origin, IReadOnlyList<string> kernelArguments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(kernelArguments);
        var osName = _options.OsName ?? throw new SysrootException("deploy needs the stateroot: --os NAME");
        // One word each: ostree writes them into the boot entry's options line as they are.
        foreach (var karg in kernelArguments.Where(k => k.Length == 0 || k.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            throw new SysrootException($"--karg: '{karg}' is not one kernel argument");
        }

        var trust = origin is null ? _options.Trust : TrustFor(origin, _options.Trust);
        var pull = await PullAsync(image, osName, trust, cancellationToken).ConfigureAwait(false);
        origin ??= ContainerImageReference.For(image, pull.SignatureVerified ? ImageVerification.Signed : ImageVerification.Unverified);
        return new DeployResult(DeployCommit(osName, pull.Commit, DeploymentOrigin.Format(origin), kernelArguments), origin, pull);
    }

    /// <summary>
    /// Follows the origin of the booted (else the first listed) deployment of
    /// <see cref="SysrootOptions.OsName"/>: asks the registry for the image's manifest, and
    /// when it is not the one deployed, says what a pull would fetch (<see cref="UpgradeMode.Check"/>),
    /// pulls (<see cref="UpgradeMode.DownloadOnly"/>), or pulls and deploys with the same origin.
    /// </summary>
    public async Task<UpgradeResult> UpgradeAsync(UpgradeMode mode, CancellationToken cancellationToken = default)
    {
        var from = Current();
        var originText = File.ReadAllText(from.OriginPathIn(_options.Sysroot));
        var origin = ReadOrigin(from, originText);
        var image = origin.ToImageReference();
        var trust = TrustFor(origin, _options.Trust);
        var repo = OstreeRepo.Open(_options.RepoPath);
        var refName = RefFor(from.OsName);
        var deployedManifest = DeployedManifest(repo, from.Commit, refName);
        var deployedVersion = repo.ReadCommit(Checksum.Parse(from.Commit)).Version;

        var info = await ImageImporter.InspectAsync(image, _options.Registry, _options.Platform, cancellationToken).ConfigureAwait(false);
        var version = info.Version ?? (info.Labels.TryGetValue("version", out var v) ? v : null);
        if (info.ManifestDigest.ToString() == deployedManifest
            || (deployedManifest is null && info.Shape == ImageShape.OstreeContainer && info.Commit?.ToString() == from.Commit))
        {
            return new UpgradeResult(UpgradeOutcome.NoUpdate, from, origin, info.ManifestDigest, deployedManifest ?? info.ManifestDigest.ToString(), deployedVersion, version, null, 0, null, null);
        }

        var plan = ImageImporter.PlanPull(info, _options.RepoPath, refName);
        var needed = BytesNeeded(plan);
        if (mode == UpgradeMode.Check)
        {
            return new UpgradeResult(UpgradeOutcome.Available, from, origin, info.ManifestDigest, deployedManifest, deployedVersion, version, plan, needed, null, null);
        }

        var pull = await PullAsync(Pinned(image, info, trust), from.OsName, trust, cancellationToken, (info, plan)).ConfigureAwait(false);
        if (mode == UpgradeMode.DownloadOnly)
        {
            return new UpgradeResult(UpgradeOutcome.Downloaded, from, origin, pull.Manifest, deployedManifest, deployedVersion, version, plan, needed, pull, null);
        }

        // The same origin, byte for byte: whatever else bootc or rpm-ostree keep there stays.
        var deployed = DeployCommit(from.OsName, pull.Commit, originText, []);
        return new UpgradeResult(UpgradeOutcome.Deployed, from, origin, pull.Manifest, deployedManifest, deployedVersion, version, plan, needed, pull, deployed);
    }

    /// <summary>
    /// Changes the image of the booted (else first listed) deployment of
    /// <see cref="SysrootOptions.OsName"/>: pulls <paramref name="image"/> and deploys it with an
    /// origin naming it, verified as <paramref name="origin"/> says or, when null, as the current origin is.
    /// </summary>
    public async Task<DeployResult> SwitchAsync(ImageReference image, ContainerImageReference? origin, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var from = Current();
        origin ??= ReadOrigin(from, File.ReadAllText(from.OriginPathIn(_options.Sysroot))).WithImage(image);
        var trust = TrustFor(origin, _options.Trust);
        var pull = await PullAsync(image, from.OsName, trust, cancellationToken).ConfigureAwait(false);
        return new DeployResult(DeployCommit(from.OsName, pull.Commit, DeploymentOrigin.Format(origin), []), origin, pull);
    }

    /// <summary>The free space a pull following <paramref name="plan"/> is checked to need.</summary>
    public static long BytesNeeded(PullPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return plan.Path == PullPath.UpToDate ? 0 : (plan.BytesToFetch * BytesWrittenPerByteFetched) + MarginBytes;
    }

    /// <summary>
    /// The manifest digest <paramref name="commit"/> was pulled from: the commit's own
    /// <c>ostree.manifest-digest</c> (a derived or plain image's commit), else the pull state of
    /// <paramref name="refName"/> when it names this commit; null when neither knows.
    /// </summary>
    public static string? DeployedManifest(OstreeRepo repo, string commit, string refName)
    {
        ArgumentNullException.ThrowIfNull(repo);
        if (repo.ReadCommit(Checksum.Parse(commit)).Metadata.GetString(CommitMetadataKeys.ManifestDigest) is { } digest)
        {
            return digest;
        }

        return PullState.TryLoad(repo.Root, refName) is { } state && state.Commit == commit ? state.Manifest : null;
    }

    // A tag is resolved once (by the inspection the decision was made on) and the pull takes
    // exactly that manifest. Only when the trust is decided: a pinned reference lets a plain
    // image in without any signature, which the user did not ask for by naming a tag.
    private static ImageReference Pinned(ImageReference image, ImageInfo info, PullTrust trust) =>
        image.Transport == ImageTransport.Registry && image.Digest is null && trust.GivesKeys
            ? image with { Digest = info.ManifestDigest }
            : image;

    private static ContainerImageReference ReadOrigin(Deployment deployment, string text)
    {
        try
        {
            return DeploymentOrigin.TryParseImage(text)
                ?? throw new SysrootException($"deployment {deployment} was not deployed from an image (its origin has no {ContainerImageReference.OriginKey}): deploy one with 'ostree-container deploy'");
        }
        catch (Exception e) when (e is FormatException or InvalidDataException)
        {
            throw new SysrootException($"origin of deployment {deployment}: {e.Message}", e);
        }
    }

    private Deployment Current()
    {
        var deployments = _admin.Status().Where(d => _options.OsName is null || d.OsName == _options.OsName).ToList();
        return deployments.FirstOrDefault(d => d.Booted)
            ?? deployments.FirstOrDefault()
            ?? throw new SysrootException(
                $"no deployment{(_options.OsName is null ? "" : $" of '{_options.OsName}'")} in {_options.Sysroot}: deploy an image first with 'ostree-container deploy'");
    }

    private async Task<PullResult> PullAsync(ImageReference image, string osName, PullTrust trust, CancellationToken cancellationToken, (ImageInfo Info, PullPlan Plan)? planned = null)
    {
        if (planned is null && trust.GivesKeys)
        {
            // Free space is judged before anything is written. Without any trust the pull
            // refuses before any request; inspecting first would only delay that line.
            var info = await ImageImporter.InspectAsync(image, _options.Registry, _options.Platform, cancellationToken).ConfigureAwait(false);
            planned = (info, ImageImporter.PlanPull(info, _options.RepoPath, RefFor(osName)));
            image = Pinned(image, info, trust);
        }

        if (planned is { } p)
        {
            var needed = BytesNeeded(p.Plan);
            var free = _options.FreeSpace(_options.RepoPath);
            if (needed > free)
            {
                throw new SysrootException(
                    $"not enough free space in {_options.RepoPath}: the pull fetches {p.Plan.BytesToFetch} bytes and needs about {needed} bytes, {free} are free");
            }
        }

        return await ImageImporter.PullAsync(new ImagePullOptions
        {
            RepoPath = _options.RepoPath,
            Image = image,
            Ref = RefFor(osName),
            Trust = trust,
            Platform = _options.Platform,
            Registry = _options.Registry,
            Progress = _options.Progress,
        }, cancellationToken).ConfigureAwait(false);
    }

    private Deployment DeployCommit(string osName, string commit, string originText, IReadOnlyList<string> kernelArguments)
    {
        if (!Directory.Exists(Path.Combine(_options.Sysroot, "ostree", "deploy", osName)))
        {
            _admin.OsInit(osName);
        }

        _admin.Deploy(osName, commit, originText, kernelArguments);
        return _admin.Status().FirstOrDefault(d => d.OsName == osName && d.Commit == commit)
            ?? throw new SysrootException($"ostree admin deploy of {commit} into '{osName}' succeeded but status does not list it");
    }
}
