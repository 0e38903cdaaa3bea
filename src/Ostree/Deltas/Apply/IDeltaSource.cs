namespace OstreeContainer.Ostree.Deltas.Apply;

/// <summary>
/// Where a static delta's bytes come from: a delta directory on disk
/// (<see cref="DirectoryDeltaSource"/>), or any other carrier (an OCI layer, a download).
/// Nothing a source returns is trusted: the applier checks every length and checksum.
/// </summary>
/// <remarks>
/// The applier reads the superblock once, then opens each part it needs exactly once, in
/// increasing index order, and reads it to the end before opening the next; so a source
/// backed by one sequential stream (a tar layer) only has to skip forward. Parts the
/// superblock carries inline, and parts whose objects the repo already has, are never opened.
/// </remarks>
public interface IDeltaSource
{
    /// <summary>Names the source in messages, e.g. the delta directory.</summary>
    string Description { get; }

    /// <summary>
    /// Reads the superblock file (plain, or wrapped as a signed superblock), refusing more
    /// than <paramref name="maxLength"/> bytes.
    /// </summary>
    /// <exception cref="InvalidDataException">Missing, or longer than <paramref name="maxLength"/>.</exception>
    ValueTask<byte[]> ReadSuperblockAsync(int maxLength, CancellationToken cancellationToken);

    /// <summary>
    /// Opens part <paramref name="index"/> (the file <c>deltas/…/index</c>) for one sequential
    /// read. The caller disposes the stream and reads at most one byte past the size the
    /// superblock declares.
    /// </summary>
    /// <exception cref="InvalidDataException">The part is missing.</exception>
    ValueTask<Stream> OpenPartAsync(int index, CancellationToken cancellationToken);

    /// <summary>
    /// Called once every part needed has been read and checked, before anything becomes
    /// visible: a source that can check its carrier as a whole (a layer's digest and
    /// diff_id) does so here, and throwing aborts the application.
    /// </summary>
    /// <exception cref="InvalidDataException">The carrier is corrupt.</exception>
    ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
