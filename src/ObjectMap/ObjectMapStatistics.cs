namespace OstreeContainer.ObjectMap;

/// <summary>What a build wrote.</summary>
/// <param name="Commits">Commits covered.</param>
/// <param name="Entries">Paths, summed over the commits.</param>
/// <param name="ContentObjects">Distinct content objects (files and symlinks).</param>
/// <param name="Bytes">Size of the map file.</param>
public sealed record ObjectMapStatistics(int Commits, int Entries, int ContentObjects, long Bytes);
