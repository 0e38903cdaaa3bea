using OstreeContainer.Ostree.Deltas.Apply;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>How a delta is applied.</summary>
public sealed record DeltaApplyOptions
{
    /// <summary>
    /// The signatures the target commit must carry (and, when it lists ed25519 keys, a signed
    /// superblock's own signatures); null applies without checking (explicit opt-out).
    /// </summary>
    public SignaturePolicy? SignaturePolicy { get; init; }

    /// <summary>
    /// The delta the source must hold (its superblock's from and to commits); null applies
    /// whichever delta the superblock names. A carrier that names the delta elsewhere (a
    /// layer's annotations) sets it, so another valid delta cannot move the ref elsewhere.
    /// </summary>
    public DeltaName? ExpectedName { get; init; }

    /// <summary>A ref to move to the target commit once everything is written; null moves none.</summary>
    public RefName? Ref { get; init; }

    /// <summary>Parts are decompressed and applied on this many threads at most (and at most this many are in memory).</summary>
    public int MaxParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Clock for signature expiry checks.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>What applying a delta wrote.</summary>
/// <param name="Name">From/to commits.</param>
/// <param name="ObjectsWritten">Objects written (the commit included).</param>
/// <param name="ObjectsPresent">Objects the repo already had.</param>
/// <param name="Signature">The commit's signatures as verified, or null without a <see cref="DeltaApplyOptions.SignaturePolicy"/>.</param>
public sealed record DeltaApplyResult(DeltaName Name, int ObjectsWritten, int ObjectsPresent, SignatureReport? Signature = null);

/// <summary>Applies static deltas (ours or ostree's) into archive, bare-user and bare repos.</summary>
public static class DeltaApplier
{
    /// <summary>
    /// Applies the delta whose directory (or superblock file) is <paramref name="path"/>:
    /// every object is verified against its name before it becomes visible, the commit's
    /// signature is checked per <see cref="DeltaApplyOptions.SignaturePolicy"/>, and the ref
    /// (if any) moves last. On any error nothing becomes visible.
    /// </summary>
    /// <exception cref="InvalidDataException">The delta is malformed, corrupt, or needs an object the repository lacks; the message names it.</exception>
    /// <exception cref="SignatureVerificationException">A signature the policy requires is missing or not valid.</exception>
    /// <exception cref="Errors.UserInputException">Nothing exists at <paramref name="path"/>.</exception>
    public static Task<DeltaApplyResult> ApplyOfflineAsync(OstreeRepo repo, string path, DeltaApplyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        return ApplyAsync(repo, new DirectoryDeltaSource(path), options, cancellationToken);
    }

    /// <summary>
    /// Applies a delta read from <paramref name="source"/> (a directory, or a delta carried
    /// some other way), with the same checks and all-or-nothing visibility as
    /// <see cref="ApplyOfflineAsync"/>. Unlike <c>ostree static-delta apply-offline</c> this
    /// works into archive repositories too, and accepts fallback entries whose objects the
    /// repository already has.
    /// </summary>
    /// <exception cref="InvalidDataException">The delta is malformed, corrupt, or needs an object the repository lacks; the message names it.</exception>
    /// <exception cref="SignatureVerificationException">A signature the policy requires is missing or not valid.</exception>
    public static Task<DeltaApplyResult> ApplyAsync(OstreeRepo repo, IDeltaSource source, DeltaApplyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        return DeltaApplication.ApplyAsync(repo, source, options, cancellationToken);
    }
}
