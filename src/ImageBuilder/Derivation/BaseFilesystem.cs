using System.Buffers;
using System.Security.Cryptography;
using OstreeContainer.ObjectMap;
using OstreeContainer.Oci.Layers;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ImageBuilder.Derivation;

/// <summary>What a path of a base image is.</summary>
public enum BaseEntryKind
{
    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A regular file.</summary>
    File,

    /// <summary>A symbolic link.</summary>
    Symlink,

    /// <summary>Anything a commit cannot hold (device, fifo, ids beyond 32 bits): never equal to a commit's entry.</summary>
    Other,
}

/// <summary>
/// One path of a base image's merged filesystem, in the terms an OSTree commit uses, so
/// it compares with a <see cref="TreeEntry"/> directly: files and symlinks by their OSTree
/// content checksum (which covers content, mode, owner and xattrs), directories by mode,
/// owner and xattrs.
/// </summary>
/// <param name="Kind">What it is.</param>
/// <param name="Content">The OSTree content checksum of a file or symlink; default otherwise.</param>
/// <param name="Mode">Permission bits (07777).</param>
/// <param name="Uid">Owner.</param>
/// <param name="Gid">Group.</param>
/// <param name="Size">Content length of a regular file.</param>
/// <param name="Xattrs">Extended attributes, sorted by name.</param>
public sealed record BaseEntry(BaseEntryKind Kind, Checksum Content, uint Mode, uint Uid, uint Gid, long Size, IReadOnlyList<Xattr> Xattrs)
{
    /// <summary>A directory as a tar extractor creates one that no entry names.</summary>
    internal static readonly BaseEntry ImplicitDirectory = new(BaseEntryKind.Directory, default, Convert.ToUInt32("755", 8), 0, 0, 0, []);

    /// <summary>True when <paramref name="entry"/> would extract to exactly this path.</summary>
    public bool SameAs(TreeEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return (Kind, entry.Kind) switch
        {
            (BaseEntryKind.File, TreeEntryKind.File) or (BaseEntryKind.Symlink, TreeEntryKind.Symlink) => Content == entry.Object,
            (BaseEntryKind.Directory, TreeEntryKind.Directory) =>
                Mode == entry.Mode && Uid == entry.Uid && Gid == entry.Gid && SameXattrs(Xattrs, entry.Xattrs),
            _ => false,
        };
    }

    private static bool SameXattrs(IReadOnlyList<Xattr> a, IReadOnlyList<Xattr> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.Name == p.Second.Name && p.First.Value.AsSpan().SequenceEqual(p.Second.Value));
}

/// <summary>
/// A base image's filesystem as a container sees it: every path (relative, '/'-separated,
/// the root is <c>""</c>) after applying its layers in order with OCI whiteouts
/// (image-spec layer.md: <c>.wh.NAME</c> deletes NAME, <c>.wh..wh..opq</c> empties its
/// directory, both only for lower layers).
/// </summary>
public sealed class BaseFilesystem
{
    // The OSTree content checksum hashes file content: one buffer per layer read, pooled.
    private const int ContentBufferSize = 128 * 1024;

    private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);

    private BaseFilesystem()
    {
        _nodes[string.Empty] = new Node(BaseEntry.ImplicitDirectory, -1);
    }

    /// <summary>Paths, the root included.</summary>
    public int Count => _nodes.Count;

    /// <summary>Every path except the root, in no particular order.</summary>
    public IEnumerable<string> Paths => _nodes.Keys.Where(p => p.Length > 0);

    /// <summary>The entry at <paramref name="path"/>, if the base has one.</summary>
    public bool TryGetEntry(string path, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BaseEntry? entry)
    {
        entry = _nodes.TryGetValue(path, out var node) ? node.Entry : null;
        return entry is not null;
    }

    /// <summary>Applies every layer of <paramref name="image"/>, checking each blob's digest and diff ID.</summary>
    internal static async Task<BaseFilesystem> ReadLayersAsync(BaseImage image, CancellationToken cancellationToken)
    {
        var filesystem = new BaseFilesystem();
        var buffer = ArrayPool<byte>.Shared.Rent(ContentBufferSize);
        try
        {
            for (var i = 0; i < image.Layers.Count; i++)
            {
                var layer = image.Layers[i];
                var blob = await image.OpenBlobAsync(layer, cancellationToken).ConfigureAwait(false);
                await using (blob.ConfigureAwait(false))
                {
                    // Entries are applied as they stream by; a digest or diff ID mismatch found at
                    // the end throws, and the half-built view is discarded with the build.
                    using var reader = LayerArchive.Open(blob, layer.MediaType, leaveOpen: true);
                    while (reader.Next() is { } entry)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        filesystem.Apply(entry, reader.Content, i, buffer, layer);
                    }

                    CheckDiffId(reader, image, i);
                    Drain(blob);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return filesystem;
    }

    /// <summary>
    /// Reads an ostree-container base through its object map: only the meta layer is
    /// downloaded; the commit's paths get the image mapping <see cref="CommitTree"/> uses
    /// (<c>usr/etc</c> as <c>etc</c>, <c>var/tmp</c>), and <c>/ostree</c> (the base's repo)
    /// is an <see cref="BaseEntryKind.Other"/> entry so a derived image replaces it whole.
    /// </summary>
    internal static async Task<BaseFilesystem> ReadObjectMapAsync(BaseImage image, string commit, CancellationToken cancellationToken)
    {
        var index = image.Kinds.ToList().LastIndexOf(LayerKind.Meta);
        if (index < 0)
        {
            throw new InvalidDataException($"the base is labelled ostree commit {commit} but has no layer annotated {ImageAnnotationKeys.LayerKind}=meta");
        }

        var mapFile = Path.Combine(Path.GetTempPath(), $"ostree-container-base-map-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            var layer = image.Layers[index];
            var found = false;
            var blob = await image.OpenBlobAsync(layer, cancellationToken).ConfigureAwait(false);
            await using (blob.ConfigureAwait(false))
            {
                using var reader = LayerArchive.Open(blob, layer.MediaType, leaveOpen: true);
                while (reader.Next() is { } entry)
                {
                    if (entry.Path == ImagePaths.ObjectMap && entry.Type == LayerEntryType.File)
                    {
                        using var file = new FileStream(mapFile, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
                        await reader.Content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                        found = true;
                    }
                }

                // Nothing read from the map until the whole layer matched its digest and diff ID.
                CheckDiffId(reader, image, index);
                Drain(blob);
            }

            if (!found)
            {
                throw new InvalidDataException($"meta layer {layer.Digest} holds no /{ImagePaths.ObjectMap}");
            }

            using var map = ObjectMapReader.Open(mapFile);
            if (!map.TryResolveCommit(commit, out _))
            {
                throw new InvalidDataException($"the object map of meta layer {layer.Digest} does not cover commit {commit}");
            }

            return FromObjectMap(map, commit, cancellationToken);
        }
        finally
        {
            File.Delete(mapFile);
        }
    }

    private static BaseFilesystem FromObjectMap(ObjectMapReader map, string commit, CancellationToken cancellationToken)
    {
        var filesystem = new BaseFilesystem();
        if (!map.TryGetEntry("/", commit, out var root))
        {
            throw new InvalidDataException($"the object map has no root directory for commit {commit}");
        }

        var rootEntry = FromMapEntry(root);
        filesystem._nodes[string.Empty] = new Node(rootEntry, 0);
        var top = map.ListDirectory("/", commit) ?? [];
        var hasEtc = top.Any(e => e.Path == "/etc");
        var pending = new Stack<string>();
        pending.Push("/");
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var child in map.ListDirectory(pending.Pop(), commit) ?? [])
            {
                var path = child.Path[1..];
                filesystem._nodes[hasEtc ? path : CommitTree.MapPath(path)] = new Node(FromMapEntry(child), 0);
                if (child.Type == EntryType.Directory)
                {
                    pending.Push(child.Path);
                }
            }
        }

        // The directories CommitTree adds for a container; its builds put them in tree layers.
        filesystem._nodes.TryAdd("var", new Node(rootEntry with { Mode = Convert.ToUInt32("755", 8), Xattrs = [] }, 0));
        filesystem._nodes.TryAdd("var/tmp", new Node(rootEntry with { Mode = Convert.ToUInt32("1777", 8), Xattrs = [] }, 0));
        filesystem._nodes["ostree"] = new Node(BaseEntry.ImplicitDirectory with { Kind = BaseEntryKind.Other }, 0);
        return filesystem;
    }

    private static BaseEntry FromMapEntry(ObjectMapEntry entry) => entry.Type switch
    {
        EntryType.Directory => new BaseEntry(BaseEntryKind.Directory, default, entry.Mode & StatMode.PermissionMask, entry.Uid, entry.Gid, 0, entry.Xattrs),
        EntryType.Symlink => new BaseEntry(BaseEntryKind.Symlink, entry.Checksum, entry.Mode & StatMode.PermissionMask, entry.Uid, entry.Gid, 0, entry.Xattrs),
        _ => new BaseEntry(BaseEntryKind.File, entry.Checksum, entry.Mode & StatMode.PermissionMask, entry.Uid, entry.Gid, entry.Size, entry.Xattrs),
    };

    private static void CheckDiffId(LayerReader reader, BaseImage image, int index)
    {
        try
        {
            reader.ReadToEndAndCheckDiffId(image.DiffId(index));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"layer {index} ({image.Layers[index].Digest}): {e.Message}", e);
        }
    }

    // The decompressor may stop at the end of its frame; the verifying stream checks size
    // and digest only on the read that returns 0.
    private static void Drain(Stream blob) => blob.CopyTo(Stream.Null);

    private void Apply(LayerEntry entry, Stream content, int layer, byte[] buffer, Oci.Images.Descriptor descriptor)
    {
        if (entry.IsOpaqueWhiteout)
        {
            RemoveLower(CommitTree.Parent(entry.Path), layer, keepSelf: true);
            return;
        }

        if (entry.WhiteoutTarget is { } target)
        {
            RemoveLower(target, layer, keepSelf: false);
            return;
        }

        if (entry.Path.Length == 0)
        {
            if (entry.Type == LayerEntryType.Directory)
            {
                _nodes[string.Empty] = _nodes[string.Empty] with { Entry = ToBaseEntry(entry, default) };
            }

            return;
        }

        BaseEntry converted;
        if (entry.Type == LayerEntryType.Hardlink)
        {
            // A hard link shares the inode of its target: same content, same metadata.
            converted = _nodes.TryGetValue(entry.LinkTarget!, out var linked) && linked.Entry.Kind != BaseEntryKind.Directory
                ? linked.Entry
                : throw new InvalidDataException($"layer {descriptor.Digest}: hard link '{entry.Path}' names '{entry.LinkTarget}', which is not a file");
        }
        else
        {
            converted = ToBaseEntry(entry, ContentChecksum(entry, content, buffer));
        }

        if (_nodes.TryGetValue(entry.Path, out var existing)
            && existing.Entry.Kind == BaseEntryKind.Directory
            && converted.Kind != BaseEntryKind.Directory)
        {
            RemoveLower(entry.Path, int.MaxValue, keepSelf: false);
        }

        EnsureParents(entry.Path, layer);
        if (_nodes.TryGetValue(entry.Path, out var present) && present.Children is not null && converted.Kind == BaseEntryKind.Directory)
        {
            _nodes[entry.Path] = present with { Entry = converted, Layer = layer };
        }
        else
        {
            _nodes[entry.Path] = new Node(converted, layer);
            _nodes[CommitTree.Parent(entry.Path)].AddChild(entry.Path);
        }
    }

    private void EnsureParents(string path, int layer)
    {
        var parent = CommitTree.Parent(path);
        if (_nodes.TryGetValue(parent, out var node))
        {
            if (node.Entry.Kind == BaseEntryKind.Directory)
            {
                return;
            }

            // A path below a non-directory replaces it with a directory, as an extractor would.
            RemoveLower(parent, int.MaxValue, keepSelf: false);
        }

        EnsureParents(parent, layer);
        _nodes[parent] = new Node(BaseEntry.ImplicitDirectory, layer);
        _nodes[CommitTree.Parent(parent)].AddChild(parent);
    }

    // Removes what layers below `layer` put at `path` (and below it); entries of `layer`
    // itself stay, as image-spec requires of whiteouts.
    private void RemoveLower(string path, int layer, bool keepSelf)
    {
        if (!_nodes.TryGetValue(path, out var node))
        {
            return;
        }

        if (node.Children is not null)
        {
            foreach (var child in node.Children.ToList())
            {
                RemoveLower(child, layer, keepSelf: false);
            }
        }

        if (!keepSelf && node.Layer < layer && (node.Children is null || node.Children.Count == 0) && path.Length > 0)
        {
            _nodes.Remove(path);
            if (_nodes.TryGetValue(CommitTree.Parent(path), out var parent))
            {
                parent.Children?.Remove(path);
            }
        }
    }

    private static BaseEntry ToBaseEntry(LayerEntry entry, Checksum content)
    {
        var kind = entry.Type switch
        {
            LayerEntryType.Directory => BaseEntryKind.Directory,
            LayerEntryType.File => BaseEntryKind.File,
            LayerEntryType.Symlink => BaseEntryKind.Symlink,
            _ => BaseEntryKind.Other,
        };
        if (entry.Uid is < 0 or > uint.MaxValue || entry.Gid is < 0 or > uint.MaxValue)
        {
            kind = BaseEntryKind.Other;
        }

        return new BaseEntry(kind, content, (uint)entry.Mode & StatMode.PermissionMask, (uint)entry.Uid, (uint)entry.Gid, entry.Type == LayerEntryType.File ? entry.Size : 0, Xattrs(entry));
    }

    private static IReadOnlyList<Xattr> Xattrs(LayerEntry entry) =>
        entry.Xattrs.Count == 0
            ? []
            : entry.Xattrs.Where(x => x.Value.Length > 0).Select(x => new Xattr(x.Key, x.Value)).OrderBy(x => x.Name, StringComparer.Ordinal).ToList();

    // OSTree's content checksum: sha256 over the file header variant then the content
    // (FileHeader.ComputeChecksum, streamed).
    private static Checksum ContentChecksum(LayerEntry entry, Stream content, byte[] buffer)
    {
        if (entry.Type is not (LayerEntryType.File or LayerEntryType.Symlink) || entry.Uid is < 0 or > uint.MaxValue || entry.Gid is < 0 or > uint.MaxValue)
        {
            return default;
        }

        var header = entry.Type == LayerEntryType.Symlink
            ? FileHeader.Symlink((uint)entry.Uid, (uint)entry.Gid, entry.LinkTarget ?? string.Empty, Xattrs(entry))
            : FileHeader.Regular((uint)entry.Uid, (uint)entry.Gid, (uint)entry.Mode, Xattrs(entry));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header.ToContentHeader());
        if (entry.Type == LayerEntryType.File)
        {
            int read;
            while ((read = content.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
        }

        return Checksum.From(hash);
    }

    private sealed record Node(BaseEntry Entry, int Layer)
    {
        public HashSet<string>? Children { get; private set; }

        public void AddChild(string path) => (Children ??= new HashSet<string>(StringComparer.Ordinal)).Add(path);
    }
}
