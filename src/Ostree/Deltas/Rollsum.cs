namespace OstreeContainer.Ostree.Deltas;

/// <summary>A run of new-file bytes that equals a run of old-file bytes.</summary>
/// <param name="NewOffset">Start in the new file.</param>
/// <param name="OldOffset">Start in the old file.</param>
/// <param name="Length">Bytes in the run.</param>
public readonly record struct RollsumMatch(long NewOffset, long OldOffset, long Length);

/// <summary>Chunk matches between an old and a new file, with the counts the generator decides on.</summary>
/// <param name="Matches">Matched chunks of the new file, in new-file order, not overlapping.</param>
/// <param name="MatchedChunks">How many of the new file's chunks matched.</param>
/// <param name="TotalChunks">How many chunks the new file split into.</param>
/// <param name="MatchedBytes">Bytes of the new file covered by matches.</param>
public sealed record RollsumResult(IReadOnlyList<RollsumMatch> Matches, int MatchedChunks, int TotalChunks, long MatchedBytes)
{
    /// <summary>Whether at least half of the new file's chunks matched: ostree's rule for a rollsum encoding.</summary>
    public bool IsWorthUsing => TotalChunks > 0 && MatchedChunks * 2 >= TotalChunks;
}

/// <summary>
/// Content-defined chunking with bup's rolling checksum (ostree-format.md §8.8) and chunk
/// matching between two files, as ostree's delta compiler decides between rollsum and bsdiff.
/// </summary>
public static class Rollsum
{
    /// <summary>Splits both files into chunks and matches the new file's chunks against the old file's.</summary>
    public static RollsumResult Match(ReadOnlySpan<byte> oldData, ReadOnlySpan<byte> newData) =>
        throw new NotImplementedException("Rollsum.Match: being written");
}
