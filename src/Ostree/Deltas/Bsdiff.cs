namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// Makes the bsdiff patches <see cref="Bspatch"/> applies (Colin Percival's algorithm,
/// mendsley/bsdiff stream layout, no header, no inner compression).
/// </summary>
public static class Bsdiff
{
    /// <summary>A patch turning <paramref name="oldData"/> into <paramref name="newData"/>.</summary>
    public static byte[] Diff(ReadOnlySpan<byte> oldData, ReadOnlySpan<byte> newData) =>
        throw new NotImplementedException("Bsdiff.Diff: being written");
}
