using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ObjectMap;

/// <summary>A path in a commit: one use of an object.</summary>
/// <param name="Commit">The commit.</param>
/// <param name="Path">Absolute path within the commit.</param>
public sealed record CommitPath(Checksum Commit, string Path);
