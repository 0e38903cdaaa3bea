using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Posix;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Trees;

/// <summary>Options of <see cref="TreeCheckout"/>.</summary>
public sealed record CheckoutOptions
{
    /// <summary>
    /// Apply the stored uid/gid. Default: when running as root (as <c>ostree checkout</c>);
    /// otherwise files belong to the caller.
    /// </summary>
    public bool ApplyOwnership { get; init; } = FileSystem.IsRoot;

    /// <summary>Restore stored xattrs (those the filesystem and privileges allow).</summary>
    public bool ApplyXattrs { get; init; } = true;

    /// <summary>
    /// Reject symlinks whose target is absolute or climbs out of the checkout with
    /// <c>..</c>. Off by default because OS trees legitimately hold absolute links; turn it
    /// on for untrusted content that will be read by following links.
    /// </summary>
    public bool ConfineSymlinks { get; init; }
}

/// <summary>
/// Writes a commit's tree into a new directory, like <c>ostree checkout</c>: modes,
/// ownership (as root), symlinks, xattrs; files get mtime 0. Every path is created fresh
/// (the destination must not exist or be empty) and nothing is ever written through a
/// symlink, so hostile trees cannot write outside the destination.
/// </summary>
public static class TreeCheckout
{
    /// <summary>Checks out <paramref name="commit"/> of <paramref name="repo"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="IOException">The destination exists and is not empty.</exception>
    /// <exception cref="InvalidDataException">An object is malformed or (with <see cref="CheckoutOptions.ConfineSymlinks"/>) a symlink escapes.</exception>
    public static void Checkout(OstreeRepo repo, Checksum commit, string destination, CheckoutOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(destination);
        options ??= new CheckoutOptions();
        if (Directory.Exists(destination) && Directory.EnumerateFileSystemEntries(destination).Any())
        {
            throw new IOException($"{destination}: destination exists and is not empty");
        }

        if (File.Exists(destination) || new FileInfo(destination).LinkTarget is not null)
        {
            throw new IOException($"{destination}: destination exists and is not a directory");
        }

        var c = repo.ReadCommit(commit);
        var full = Path.GetFullPath(destination);
        Directory.CreateDirectory(full);
        WriteDirectory(repo, c.RootTree, c.RootMeta, full, "", options, cancellationToken);
    }

    private static void WriteDirectory(OstreeRepo repo, Checksum treeChecksum, Checksum metaChecksum, string path, string relative, CheckoutOptions options, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var tree = repo.ReadDirTree(treeChecksum);
        var meta = repo.ReadDirMeta(metaChecksum);
        foreach (var file in tree.Files)
        {
            WriteFile(repo, file.Checksum, Path.Combine(path, file.Name), $"{relative}/{file.Name}", options);
        }

        foreach (var dir in tree.Directories)
        {
            var child = Path.Combine(path, dir.Name);
            Directory.CreateDirectory(child);
            WriteDirectory(repo, dir.TreeChecksum, dir.MetaChecksum, child, $"{relative}/{dir.Name}", options, cancellationToken);
        }

        // Mode last, so a read-only directory can still be filled, and after chown, which clears setgid.
        ApplyMetadata(path, meta.Uid, meta.Gid, meta.Xattrs, options);
        File.SetUnixFileMode(path, (System.IO.UnixFileMode)(meta.Mode & StatMode.PermissionMask));
    }

    private static void WriteFile(OstreeRepo repo, Checksum checksum, string path, string relative, CheckoutOptions options)
    {
        using var content = repo.OpenContent(checksum);
        var header = content.Header;
        if (header.IsSymlink)
        {
            if (options.ConfineSymlinks && Escapes(relative, header.SymlinkTarget))
            {
                throw new InvalidDataException($"file {checksum}: symlink {relative} -> {header.SymlinkTarget} points outside the checkout");
            }

            File.CreateSymbolicLink(path, header.SymlinkTarget);
        }
        else
        {
            // CreateNew is O_CREAT|O_EXCL: it fails on any existing entry, symlinks included.
            using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0))
            {
                if (content.Size > 0)
                {
                    output.SetLength(content.Size);
                    content.Content.CopyTo(output, 256 * 1024);
                }
            }
        }

        // Ownership before mode: chown clears setuid/setgid bits.
        ApplyMetadata(path, header.Uid, header.Gid, header.Xattrs, options);
        if (!header.IsSymlink)
        {
            File.SetUnixFileMode(path, (System.IO.UnixFileMode)(header.Mode & StatMode.PermissionMask));
        }

        FileSystem.SetTimes(path, 0);
    }

    private static void ApplyMetadata(string path, uint uid, uint gid, IReadOnlyList<Xattr> xattrs, CheckoutOptions options)
    {
        if (options.ApplyOwnership)
        {
            FileSystem.LChown(path, uid, gid);
        }

        if (options.ApplyXattrs)
        {
            foreach (var x in xattrs)
            {
                FileSystem.SetXattr(path, x.Name, x.Value);
            }
        }
    }

    /// <summary>Whether a link at <paramref name="relative"/> (e.g. <c>/usr/bin/x</c>) with this target leaves the tree.</summary>
    internal static bool Escapes(string relative, string target)
    {
        if (target.StartsWith('/'))
        {
            return true;
        }

        // Depth of the directory holding the link, then walk the target's components.
        var depth = relative.Split('/', StringSplitOptions.RemoveEmptyEntries).Length - 1;
        foreach (var part in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                depth--;
                if (depth < 0)
                {
                    return true;
                }
            }
            else if (part != ".")
            {
                depth++;
            }
        }

        return false;
    }
}
