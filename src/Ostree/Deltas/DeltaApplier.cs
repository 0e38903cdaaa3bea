using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>How a delta is applied.</summary>
public sealed record DeltaApplyOptions
{
    /// <summary>The signatures the target commit must carry; null applies without checking (explicit opt-out).</summary>
    public SignaturePolicy? SignaturePolicy { get; init; }

    /// <summary>A ref to move to the target commit once everything is written; null moves none.</summary>
    public RefName? Ref { get; init; }

    /// <summary>Parts are decompressed and applied on this many threads at most.</summary>
    public int MaxParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Clock for signature expiry checks.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>What applying a delta wrote.</summary>
/// <param name="Name">From/to commits.</param>
/// <param name="ObjectsWritten">Objects written (the commit included).</param>
/// <param name="ObjectsPresent">Objects the repo already had.</param>
public sealed record DeltaApplyResult(DeltaName Name, int ObjectsWritten, int ObjectsPresent);

/// <summary>Applies static deltas (ours or ostree's) into archive, bare-user and bare repos.</summary>
public static class DeltaApplier
{
    /// <summary>
    /// Applies the delta whose directory (or superblock file) is <paramref name="path"/>:
    /// every object is verified against its name before it becomes visible, the commit's
    /// signature is checked per <see cref="DeltaApplyOptions.SignaturePolicy"/>, and the ref
    /// (if any) moves last. On any error nothing becomes visible.
    /// </summary>
    public static Task<DeltaApplyResult> ApplyOfflineAsync(OstreeRepo repo, string path, DeltaApplyOptions options, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException("DeltaApplier: being written");
}
