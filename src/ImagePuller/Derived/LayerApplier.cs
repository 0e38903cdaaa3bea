using OstreeContainer.Oci.Layers;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Trees;

namespace OstreeContainer.ImagePuller.Derived;

/// <summary>Bounds on what one pull applies from layers that carry no OSTree signature.</summary>
public sealed record LayerApplyLimits
{
    /// <summary>Entries (of every kind) read from all the layers of one pull; a tar bomb of tiny files stops here.</summary>
    public long MaxEntries { get; init; } = 4_000_000;

    /// <summary>Bytes the repository's filesystem must keep free beyond what a file's content needs.</summary>
    public long FreeSpaceReserve { get; init; } = 64L << 20;
}

/// <summary>
/// Applies container image layers (OCI tar changesets) onto a <see cref="MutableTree"/>,
/// writing each file's content object into a <see cref="RepoTransaction"/> as the tar streams
/// by: whiteouts and opaque directories, hard links (within a layer and to lower layers),
/// symlinks, xattrs, modes and owners; <c>/etc</c> becomes <c>/usr/etc</c>; the paths the
/// conventions leave out are counted in <see cref="Dropped"/>. Nothing is visible until the
/// caller commits the transaction.
/// </summary>
public sealed class LayerApplier(RepoTransaction transaction, MutableTree tree, LayerApplyLimits limits)
{
    // FOUNDATION STUB: the layers helper implements this class (keep the public surface).

    /// <summary>What was left out so far, by reason (e.g. <c>dev</c>, <c>tmp</c>), across every layer applied.</summary>
    public IReadOnlyDictionary<string, long> Dropped => throw new NotImplementedException();

    /// <summary>Entries read so far, across every layer.</summary>
    public long Entries => throw new NotImplementedException();

    /// <summary>
    /// Applies the entries of one layer, in order, up to the end-of-archive marker. The caller
    /// checks the layer's diff_id and digest afterwards (<see cref="LayerReader.ReadToEndAndCheckDiffId"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">An entry is malicious or cannot be represented (one line naming it); a limit was reached.</exception>
    public void Apply(LayerReader layer, CancellationToken cancellationToken) => throw new NotImplementedException();

    internal RepoTransaction Transaction => transaction;

    internal MutableTree Tree => tree;

    internal LayerApplyLimits Limits => limits;
}
