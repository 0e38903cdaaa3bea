using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ObjectMap;

/// <summary>
/// One path of one commit, as the object map records it.
/// </summary>
/// <param name="Commit">The commit the path belongs to.</param>
/// <param name="Path">Absolute path within the commit: <c>/</c>, <c>/usr/bin/bash</c>.</param>
/// <param name="Type">File, symlink or directory.</param>
/// <param name="Checksum">The content checksum of a file or symlink; the dirtree checksum of a directory.</param>
/// <param name="DirMeta">The dirmeta checksum of a directory; null otherwise.</param>
/// <param name="Mode">Full <c>st_mode</c>, type bits included (<c>0100644</c>, <c>040755</c>, <c>0120777</c>).</param>
/// <param name="Uid">Owner.</param>
/// <param name="Gid">Group.</param>
/// <param name="Size">Content length of a regular file; 0 for symlinks and directories.</param>
/// <param name="SymlinkTarget">The target of a symlink; null otherwise.</param>
/// <param name="Xattrs">Extended attributes in OSTree's order (byte-wise by name); empty when none.</param>
public sealed record ObjectMapEntry(
    Checksum Commit,
    string Path,
    EntryType Type,
    Checksum Checksum,
    Checksum? DirMeta,
    uint Mode,
    uint Uid,
    uint Gid,
    long Size,
    string? SymlinkTarget,
    IReadOnlyList<Xattr> Xattrs);
