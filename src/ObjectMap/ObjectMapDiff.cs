using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ObjectMap;

/// <summary>
/// The paths that differ between two commits, each list sorted byte-wise. Unlike
/// <c>ostree diff</c>, which names only the top of a removed directory, every added and
/// every removed path is listed.
/// </summary>
/// <param name="From">The older side.</param>
/// <param name="To">The newer side.</param>
/// <param name="Added">Paths only in <paramref name="To"/>.</param>
/// <param name="Removed">Paths only in <paramref name="From"/>.</param>
/// <param name="Changed">
/// Paths in both whose type differs, or (files and symlinks) whose content checksum
/// differs — it covers content, mode, owner and xattrs — or (directories) whose dirmeta
/// differs. A directory whose entries changed is not itself changed.
/// </param>
public sealed record ObjectMapDiff(
    Checksum From,
    Checksum To,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Removed,
    IReadOnlyList<string> Changed);
