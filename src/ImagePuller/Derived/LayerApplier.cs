using OstreeContainer.Errors;
using OstreeContainer.Oci.Layers;
using OstreeContainer.Ostree.Objects;
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
/// <remarks>
/// <para>Paths follow <see cref="RootfsConventions"/>. Per entry:</para>
/// <list type="bullet">
/// <item>Regular file: content object <c>(uid, gid, S_IFREG|mode, xattrs)</c>, streamed from
/// the tar; symlink: a symlink object; directory: dirmeta <c>(uid, gid, S_IFDIR|mode, xattrs)</c>.
/// An existing directory takes the new metadata and keeps its children (overlay merge); a
/// file replacing a directory, or a directory replacing a file, replaces it. mtime is
/// ignored (OSTree stores none); xattrs are stored sorted by name, as OSTree does.</item>
/// <item>Missing parent directories (no entry in the tar) are created <c>0755 root:root</c>.</item>
/// <item>Whiteout <c>.wh.NAME</c> removes NAME (file or whole directory; absent is fine);
/// <c>.wh..wh..opq</c> in D removes what lower layers put below D (at any depth) and keeps
/// what this layer already wrote there. Whiteouts never appear in the tree; one naming the root is refused.</item>
/// <item>Hard link: the link gets the target's content object; the target (after the
/// <c>etc</c> mapping) must be a file or symlink in the tree at that point.</item>
/// <item>Refused: a parent that is a file or symlink in the tree (links are never followed),
/// device nodes and FIFOs outside the dropped directories, ids beyond 32 bits, names OSTree
/// rejects, more than <see cref="LayerApplyLimits.MaxEntries"/> entries in a pull, and a file
/// over 16 MiB that would not leave <see cref="LayerApplyLimits.FreeSpaceReserve"/> free on
/// the repository's filesystem.</item>
/// </list>
/// <para>Every refusal is one <see cref="InvalidDataException"/> line naming the layer entry.</para>
/// </remarks>
public sealed class LayerApplier(RepoTransaction transaction, MutableTree tree, LayerApplyLimits limits)
{
    /// <summary>Files above this size are checked against the free space before being written.</summary>
    public const long FreeSpaceCheckThreshold = 16L << 20;

    /// <summary>Linux <c>PATH_MAX</c>: a tree path (after the <c>etc</c> mapping) must be shorter, in UTF-8 bytes.</summary>
    public const int MaxPathLength = 4096;

    // Implicit parents: what `mkdir -p` under umask 022 as root gives, and what ostree's tar
    // import uses for directories without an entry.
    private static readonly DirMeta ImplicitDirectory = new(0, 0, StatMode.Directory | 0x1ED, []);

    private readonly Dictionary<string, long> _dropped = new(StringComparer.Ordinal);

    // Tree paths this layer wrote (entries and the parents created for them): an opaque
    // marker keeps them.
    private readonly HashSet<string> _writtenByLayer = new(StringComparer.Ordinal);
    private long _entries;

    /// <summary>What was left out so far, by reason (e.g. <c>dev</c>, <c>tmp</c>), across every layer applied.</summary>
    public IReadOnlyDictionary<string, long> Dropped => _dropped;

    /// <summary>Entries read so far, across every layer.</summary>
    public long Entries => _entries;

    /// <summary>
    /// Applies the entries of one layer, in order, up to the end-of-archive marker. The caller
    /// checks the layer's diff_id and digest afterwards (<see cref="LayerReader.ReadToEndAndCheckDiffId"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">An entry is malicious or cannot be represented (one line naming it); a limit was reached.</exception>
    public void Apply(LayerReader layer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layer);
        _writtenByLayer.Clear();
        while (layer.Next() is { } entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (++_entries > limits.MaxEntries)
            {
                throw Wrap(entry, $"the pull reached its limit of {limits.MaxEntries} layer entries (LayerApplyLimits.MaxEntries)");
            }

            try
            {
                ApplyEntry(layer, entry);
            }
            catch (InvalidDataException e) when (!e.Data.Contains(EntryMarker))
            {
                // Errors from the tree or the transaction ("'usr/x' is a file…") get the entry's name.
                throw Wrap(entry, e.Message, e);
            }
        }

        _writtenByLayer.Clear();
    }

    /// <summary>
    /// Reads a layer through and refuses it for everything that does not depend on the tree it
    /// would be applied to (names, types, ids, sizes against the free space of the repository
    /// at <paramref name="repoRoot"/>, the entry limit, sparse files and truncation, which the
    /// reader refuses), writing nothing: a pull checks a derived image's layers this way before
    /// it imports the base commit, so a layer refused here leaves the repository as it was.
    /// Returns the entries counted so far (<paramref name="entries"/> plus this layer's).
    /// </summary>
    /// <exception cref="InvalidDataException">An entry is refused (one line naming it); a limit was reached.</exception>
    public static long Check(LayerReader layer, string repoRoot, LayerApplyLimits limits, long entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(limits);
        while (layer.Next() is { } entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (++entries > limits.MaxEntries)
            {
                throw Wrap(entry, $"the pull reached its limit of {limits.MaxEntries} layer entries (LayerApplyLimits.MaxEntries)");
            }

            CheckName(entry, entry.Path, "name");
            CheckName(entry, entry.LinkTarget ?? "", "link target");
            if (RootfsConventions.Map(entry.Path, out _) is not { } path)
            {
                continue;
            }

            if (entry.IsWhiteout)
            {
                if (!entry.IsOpaqueWhiteout && entry.WhiteoutTarget!.Length == 0)
                {
                    throw Refuse(entry, "is a whiteout of the root directory: a layer cannot delete the whole tree");
                }

                continue;
            }

            CheckEntry(entry, path);
            if (entry.Type == LayerEntryType.File && entry.Size > FreeSpaceCheckThreshold)
            {
                CheckFreeSpace(entry, repoRoot, limits);
            }
        }

        return entries;
    }

    internal RepoTransaction Transaction => transaction;

    internal MutableTree Tree => tree;

    internal LayerApplyLimits Limits => limits;

    private const string EntryMarker = "layer-entry";

    private void ApplyEntry(LayerReader layer, LayerEntry entry)
    {
        CheckName(entry, entry.Path, "name");
        CheckName(entry, entry.LinkTarget ?? "", "link target");
        var path = RootfsConventions.Map(entry.Path, out var reason);
        if (path is null)
        {
            // Below run, tmp, … (whiteouts too: nothing of a lower layer is there either).
            Drop(reason!);
            return;
        }

        if (entry.IsWhiteout)
        {
            ApplyWhiteout(entry, path);
            return;
        }

        CheckEntry(entry, path);
        switch (entry.Type)
        {
            case LayerEntryType.Directory:
                EnsureParent(entry, path);
                tree.SetDirectory(path, new DirMeta((uint)entry.Uid, (uint)entry.Gid, StatMode.Directory | (uint)entry.Mode, Xattrs(entry)), ImplicitDirectory);
                break;
            case LayerEntryType.File:
                EnsureParent(entry, path);
                var header = FileHeader.Regular((uint)entry.Uid, (uint)entry.Gid, StatMode.Regular | (uint)entry.Mode, Xattrs(entry));
                if (entry.Size > FreeSpaceCheckThreshold)
                {
                    CheckFreeSpace(entry, transaction.Repo.Root, limits);
                }

                tree.SetFile(path, transaction.WriteContent(header, layer.Content, entry.Size), ImplicitDirectory);
                break;
            case LayerEntryType.Symlink:
                EnsureParent(entry, path);
                var link = FileHeader.Symlink((uint)entry.Uid, (uint)entry.Gid, entry.LinkTarget!, Xattrs(entry));
                tree.SetFile(path, transaction.WriteContent(link, ReadOnlySpan<byte>.Empty), ImplicitDirectory);
                break;
            default:
                ApplyHardlink(entry, path);
                break;
        }

        Written(path);
    }

    // marker: the whiteout's own path, mapped ("etc/.wh.x" lies in usr/etc).
    private void ApplyWhiteout(LayerEntry entry, string marker)
    {
        if (entry.IsOpaqueWhiteout)
        {
            EnsureParent(entry, marker);
            var slash = marker.LastIndexOf('/');
            var dir = slash < 0 ? "" : marker[..slash];
            if (tree.Lookup(dir) == MutableTreeEntryKind.None)
            {
                // Nothing below to hide; the marker stands for its directory, as any entry
                // does for its parents.
                tree.SetDirectory(dir, ImplicitDirectory, ImplicitDirectory);
                Written(dir);
                return;
            }

            HideLowerLayers(dir);
            return;
        }

        var target = entry.WhiteoutTarget!;
        if (target.Length == 0)
        {
            throw Refuse(entry, "is a whiteout of the root directory: a layer cannot delete the whole tree");
        }

        var path = RootfsConventions.Map(target, out var dropReason);
        if (path is null)
        {
            Drop(dropReason!);
            return;
        }

        EnsureParent(entry, path);
        tree.Remove(path);
        _writtenByLayer.Remove(path);
    }

    // An opaque directory hides everything lower layers put below it, at any depth (as
    // overlayfs never looks below an opaque directory): what this layer wrote stays.
    private void HideLowerLayers(string dir)
    {
        var prefix = dir.Length == 0 ? "" : dir + "/";
        tree.ClearDirectory(dir, name => _writtenByLayer.Contains(prefix + name));
        foreach (var name in tree.ListNames(dir) ?? [])
        {
            if (tree.Lookup(prefix + name) == MutableTreeEntryKind.Directory)
            {
                HideLowerLayers(prefix + name);
            }
        }
    }

    private void ApplyHardlink(LayerEntry entry, string path)
    {
        var layerTarget = entry.LinkTarget!;
        var target = RootfsConventions.Map(layerTarget, out var reason);
        var checksum = target is null ? null : tree.FindFile(target);
        if (checksum is null)
        {
            var why = target is null ? $"which is dropped ({reason})"
                : tree.Lookup(target) == MutableTreeEntryKind.Directory ? $"which is a directory ({target})"
                : $"which is not in the tree ({target})";
            throw Refuse(entry, $"is a hard link to '{ErrorPolicy.Excerpt(layerTarget)}', {why}: a hard link must name a file or symlink of this or a lower layer");
        }

        EnsureParent(entry, path);
        tree.SetFile(path, checksum.Value, ImplicitDirectory);
    }

    // Refuses an entry whose parent is a file or symlink in the tree (links are never
    // followed); missing parents are created by the tree edit itself.
    private void EnsureParent(LayerEntry entry, string path)
    {
        if (tree.FindFileAncestor(path) is { } file)
        {
            throw Refuse(entry, $"lies below '{ErrorPolicy.Excerpt(file)}', which is a file or symlink in the tree: links are never followed");
        }
    }

    // What refuses an entry whatever the tree (its mapped path, its type, ids, xattr names, a
    // symlink's length): shared by Apply and Check.
    private static void CheckEntry(LayerEntry entry, string path)
    {
        CheckLength(entry, path);
        switch (entry.Type)
        {
            case LayerEntryType.CharDevice:
                throw Refuse(entry, "is a character device: an OSTree commit cannot hold device nodes");
            case LayerEntryType.BlockDevice:
                throw Refuse(entry, "is a block device: an OSTree commit cannot hold device nodes");
            case LayerEntryType.Fifo:
                throw Refuse(entry, "is a FIFO: an OSTree commit cannot hold named pipes");
            case LayerEntryType.Hardlink:
                return;
            case LayerEntryType.Symlink when entry.LinkTarget!.Length > FileHeader.MaxSymlinkTarget:
                throw Refuse(entry, $"has a symlink target of {entry.LinkTarget.Length} characters, more than the {FileHeader.MaxSymlinkTarget} OSTree accepts");
            case LayerEntryType.File or LayerEntryType.Directory or LayerEntryType.Symlink:
                Id(entry, entry.Uid, "uid");
                Id(entry, entry.Gid, "gid");
                Xattrs(entry);
                return;
            default:
                throw Refuse(entry, $"has the unsupported type {entry.Type}");
        }
    }

    // PATH_MAX: a longer path cannot be checked out, and the bound keeps the tree's depth
    // (and so every walk and the recursive write) small.
    private static void CheckLength(LayerEntry entry, string path)
    {
        if (path.Length >= MaxPathLength || System.Text.Encoding.UTF8.GetByteCount(path) >= MaxPathLength)
        {
            throw Refuse(entry, $"has a path of {System.Text.Encoding.UTF8.GetByteCount(path)} bytes: paths of {MaxPathLength} bytes or more cannot be checked out (PATH_MAX)");
        }
    }

    private static void CheckFreeSpace(LayerEntry entry, string repoRoot, LayerApplyLimits limits)
    {
        long available;
        try
        {
            // DriveInfo on Unix is statvfs(2) of the given path: f_bavail * f_frsize.
            available = new DriveInfo(repoRoot).AvailableFreeSpace;
        }
        catch (IOException)
        {
            return;
        }

        if (entry.Size > available - limits.FreeSpaceReserve)
        {
            throw Refuse(entry, $"is a {entry.Size}-byte file, but the repository's filesystem has {available} bytes free and keeps {limits.FreeSpaceReserve} in reserve (LayerApplyLimits.FreeSpaceReserve)");
        }
    }

    private void Written(string path)
    {
        // The path and every parent: an opaque marker higher up keeps them too.
        while (_writtenByLayer.Add(path))
        {
            var slash = path.LastIndexOf('/');
            if (slash < 0)
            {
                break;
            }

            path = path[..slash];
        }
    }

    private void Drop(string reason) => _dropped[reason] = _dropped.GetValueOrDefault(reason) + 1;

    private static uint Id(LayerEntry entry, long id, string what)
    {
        if (id is < 0 or > uint.MaxValue)
        {
            throw Refuse(entry, $"has {what} {id}, beyond the 32 bits OSTree stores");
        }

        return (uint)id;
    }

    private static List<Xattr> Xattrs(LayerEntry entry)
    {
        if (entry.Xattrs.Count == 0)
        {
            return [];
        }

        // A repeated name keeps its last value (as extracting the tar would); the object
        // writer sorts them by name, as OSTree does.
        var byName = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (name, value) in entry.Xattrs)
        {
            CheckName(entry, name, "xattr name");
            byName[name] = value;
        }

        return [.. byName.Select(x => new Xattr(x.Key, x.Value))];
    }

    // LayerReader decodes names as UTF-8, turning invalid bytes into U+FFFD; OSTree stores
    // only valid UTF-8 names (DirectoryCommitter refuses the same).
    private static void CheckName(LayerEntry entry, string name, string what)
    {
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw Refuse(entry, $"has a {what} holding a NUL character");
        }

        if (name.Contains('\uFFFD', StringComparison.Ordinal))
        {
            throw Refuse(entry, $"has a {what} that is not valid UTF-8: OSTree stores only UTF-8 names");
        }
    }

    // "layer entry usr/x is a character device: …": why starts with a verb.
    private static InvalidDataException Refuse(LayerEntry entry, string why) => Marked(new($"layer entry {Name(entry)} {why}"));

    // "layer entry usr/x: 'usr' is a file…": a message from elsewhere, given the entry's name.
    private static InvalidDataException Wrap(LayerEntry entry, string message, Exception? inner = null) =>
        Marked(new($"layer entry {Name(entry)}: {message}", inner));

    private static string Name(LayerEntry entry) => ErrorPolicy.Excerpt(entry.Path.Length == 0 ? "./" : entry.Path);

    private static InvalidDataException Marked(InvalidDataException e)
    {
        e.Data[EntryMarker] = true;
        return e;
    }
}
