using System.IO.Compression;
using System.Text;
using OstreeContainer.ObjectMap;
using OstreeContainer.Oci.Layers;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.ImageBuilder;

/// <summary>
/// What each kind of layer holds, entry by entry. Entries are written in an order that
/// depends only on the commit (paths in ordinal order, objects in checksum order), so a
/// layer's bytes are the same on every build.
/// </summary>
internal static class LayerContent
{
    private static readonly TarEntryMetadata RootDirectory = new(Convert.ToInt32("755", 8), 0, 0);
    private static readonly TarEntryMetadata RootFile = new(Convert.ToInt32("644", 8), 0, 0);
    private static readonly TarEntryMetadata RootExecutable = new(Convert.ToInt32("755", 8), 0, 0);

    /// <summary>
    /// A tree chunk: <paramref name="whiteouts"/> first, then <paramref name="entries"/> with
    /// the parent directories each needs; each content object is re-hashed as it streams,
    /// and a path whose object an earlier path of the layer holds becomes a hard link to it.
    /// </summary>
    public static void WriteTree(
        LayerWriter writer, OstreeRepo repo, CommitTree tree, IReadOnlyList<TreeEntry> entries, IReadOnlyList<string> whiteouts, CancellationToken cancellationToken)
    {
        var directories = new LayerDirectories(writer, path => tree.Directories.TryGetValue(path, out var d) ? Metadata(d) : RootDirectory);
        foreach (var path in whiteouts)
        {
            directories.EnsureParents(path);
            writer.AddWhiteout(path);
        }

        var firstPath = new Dictionary<Checksum, string>();
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            directories.EnsureParents(entry.Path);
            var metadata = Metadata(entry);
            switch (entry.Kind)
            {
                case TreeEntryKind.Directory:
                    directories.Add(entry.Path, metadata);
                    break;
                case TreeEntryKind.Symlink:
                    writer.AddSymlink(entry.Path, entry.SymlinkTarget, metadata);
                    break;
                default:
                    // The same checksum means the same content, owner, mode and xattrs: a hardlink
                    // extracts to an identical file.
                    if (firstPath.TryGetValue(entry.Object, out var first))
                    {
                        writer.AddHardlink(entry.Path, first, metadata);
                        break;
                    }

                    firstPath.Add(entry.Object, entry.Path);
                    using (var content = new VerifiedContentStream(repo.OpenContent(entry.Object)))
                    {
                        writer.AddFile(entry.Path, metadata, entry.Size, content);
                    }

                    break;
            }
        }
    }

    /// <summary>A repo chunk: the <c>.filez</c> of each of <paramref name="objects"/> under <c>ostree/repo/objects</c>.</summary>
    public static void WriteRepo(LayerWriter writer, OstreeRepo repo, IReadOnlyList<Checksum> objects, CancellationToken cancellationToken)
    {
        var directories = new LayerDirectories(writer, _ => RootDirectory);
        foreach (var checksum in objects)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = $"{ImagePaths.RepoDirectory}/{ObjectRelativePath(checksum, "filez")}";
            directories.EnsureParents(path);
            if (repo.IsArchive)
            {
                // Already in the form the image's archive-z2 repo needs; the tree layer of the
                // same chunk inflates and verifies this very file.
                using var file = new FileStream(repo.ObjectPath(checksum, ObjectType.File), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                writer.AddFile(path, RootFile, file.Length, file);
            }
            else
            {
                using var buffer = new MemoryStream();
                ArchiveContent.WriteVerified(repo.OpenContent(checksum), buffer, CompressionLevel.Optimal);
                writer.AddFile(path, RootFile, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
            }
        }
    }

    /// <summary>
    /// A static delta: its superblock and parts, as they are in the source repo or as the
    /// build generated them, under the delta's path in the image's repo. The superblock
    /// comes first and the parts follow in index order (format 1.1), so a puller applies
    /// the delta in one sequential read of the layer.
    /// </summary>
    public static void WriteDelta(LayerWriter writer, DeltaFiles delta)
    {
        var directories = new LayerDirectories(writer, _ => RootDirectory);
        var name = delta.Name;
        foreach (var file in Directory.EnumerateFiles(delta.Directory).OrderBy(DeltaFileOrder).ThenBy(f => f, StringComparer.Ordinal))
        {
            var path = $"{ImagePaths.RepoDirectory}/{name.RelativeDirectory}/{Path.GetFileName(file)}";
            directories.EnsureParents(path);
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            writer.AddFile(path, RootFile, stream.Length, stream);
        }
    }

    // The superblock, then parts by index, then anything else.
    private static long DeltaFileOrder(string path)
    {
        var name = Path.GetFileName(path);
        return name == DeltaName.SuperblockFileName ? -1
            : long.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index) ? index
            : long.MaxValue;
    }

    /// <summary>
    /// Builds the object map of <paramref name="commit"/> into a temp file and returns its
    /// path (the caller deletes it): the costly part of the meta layer, done before it waits
    /// for deltas still being generated.
    /// </summary>
    public static string BuildObjectMap(OstreeRepo repo, Checksum commit, CancellationToken cancellationToken)
    {
        var mapFile = Path.Combine(Path.GetTempPath(), $"ostree-container-map-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            ObjectMapBuilder.Build(repo, [commit.ToString()], mapFile, cancellationToken);
            return mapFile;
        }
        catch
        {
            File.Delete(mapFile);
            throw;
        }
    }

    /// <summary>
    /// The meta layer: the skeleton of an archive-z2 repo with the commit's metadata objects,
    /// its ref, delta indexes and summary (listing <paramref name="deltas"/>); the object map
    /// (<paramref name="objectMap"/>, from <see cref="BuildObjectMap"/>); the webserver and
    /// its libraries.
    /// </summary>
    public static void WriteMeta(
        LayerWriter writer, OstreeRepo repo, SourceCommit source, IReadOnlyList<StaticDelta> deltas, string objectMap, string webserver, CancellationToken cancellationToken)
    {
        var (checksum, refName, commit, commitBytes, commitMeta, tree) = source;
        var directories = new LayerDirectories(writer, _ => RootDirectory);

        // The skeleton `ostree init` makes, so the extracted repo opens and fscks as is.
        foreach (var directory in new[] { "extensions", "objects", RefKind.Head.RelativeDirectory(), RefKind.Mirror.RelativeDirectory(), RefKind.Remote.RelativeDirectory(), "state", "tmp" })
        {
            directories.EnsureParents($"{ImagePaths.RepoDirectory}/{directory}/x");
        }

        AddRepoFile(writer, directories, "config", Encoding.UTF8.GetBytes("[core]\nrepo_version=1\nmode=archive-z2\n"));

        // Objects in name order: the layer's bytes must not depend on walk order.
        var metadata = new SortedDictionary<string, byte[]>(StringComparer.Ordinal)
        {
            [ObjectRelativePath(checksum, "commit")] = commitBytes,
        };
        if (commitMeta is not null)
        {
            metadata[ObjectRelativePath(checksum, "commitmeta")] = commitMeta;
        }

        foreach (var dirTree in tree.DirTrees)
        {
            metadata[ObjectRelativePath(dirTree, "dirtree")] = ReadVerified(repo, dirTree, ObjectType.DirTree);
        }

        foreach (var dirMeta in tree.DirMetas)
        {
            metadata[ObjectRelativePath(dirMeta, "dirmeta")] = ReadVerified(repo, dirMeta, ObjectType.DirMeta);
        }

        foreach (var (path, bytes) in metadata)
        {
            AddRepoFile(writer, directories, path, bytes);
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (refName is not null)
        {
            AddRepoFile(writer, directories, $"{RefKind.Head.RelativeDirectory()}/{refName}", Encoding.ASCII.GetBytes(checksum + "\n"));
        }

        foreach (var (path, index) in DeltaIndex.CreateAll(deltas).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            AddRepoFile(writer, directories, path, index.Serialize());
        }

        // The summary's last-modified is the commit time, never the clock.
        var summary = new SummaryBuilder("archive-z2") { LastModified = commit.Time };
        if (refName is not null)
        {
            summary.AddRef(refName, checksum, commitBytes);
        }

        summary.AddDeltas(deltas);
        AddRepoFile(writer, directories, "summary", summary.Build().Serialize());

        using (var map = File.OpenRead(objectMap))
        {
            directories.EnsureParents(ImagePaths.ObjectMap);
            writer.AddFile(ImagePaths.ObjectMap, RootFile, map.Length, map);
        }

        using (var server = File.OpenRead(webserver))
        {
            writer.AddFile(ImagePaths.Webserver, RootExecutable, server.Length, server);
        }

        // Native libraries published beside the server (SQLite's libe_sqlite3.so) go beside it
        // in the image too; it finds them there without configuration.
        foreach (var library in Directory.EnumerateFiles(Path.GetDirectoryName(Path.GetFullPath(webserver))!, "*.so").Order(StringComparer.Ordinal))
        {
            using var stream = File.OpenRead(library);
            writer.AddFile($"{ImagePaths.WebserverLibraryDirectory}/{Path.GetFileName(library)}", RootFile, stream.Length, stream);
        }
    }

    private static void AddRepoFile(LayerWriter writer, LayerDirectories directories, string relative, byte[] bytes)
    {
        var path = $"{ImagePaths.RepoDirectory}/{relative}";
        directories.EnsureParents(path);
        writer.AddFile(path, RootFile, bytes);
    }

    private static byte[] ReadVerified(OstreeRepo repo, Checksum checksum, ObjectType type)
    {
        var bytes = repo.ReadMetadataBytes(checksum, type);
        var actual = Checksum.Compute(bytes);
        return actual == checksum
            ? bytes
            : throw new InvalidDataException($"{type.ToString().ToLowerInvariant()} {checksum} is corrupt: it hashes to {actual}");
    }

    private static string ObjectRelativePath(Checksum checksum, string extension)
    {
        var hex = checksum.ToString();
        return $"objects/{hex[..2]}/{hex[2..]}.{extension}";
    }

    private static TarEntryMetadata Metadata(TreeEntry entry) =>
        new((int)entry.Mode, (int)entry.Uid, (int)entry.Gid, entry.Xattrs.Count == 0 ? null : entry.Xattrs.Select(x => KeyValuePair.Create(x.Name, x.Value)).ToList());

    /// <summary>Writes each parent directory once per layer, before the first entry beneath it.</summary>
    private sealed class LayerDirectories(LayerWriter writer, Func<string, TarEntryMetadata> metadataFor)
    {
        private readonly HashSet<string> _written = new(StringComparer.Ordinal);

        public void EnsureParents(string path)
        {
            var parent = CommitTree.Parent(path);
            if (parent.Length == 0 || _written.Contains(parent))
            {
                return;
            }

            EnsureParents(parent);
            Add(parent, metadataFor(parent));
        }

        public void Add(string path, TarEntryMetadata metadata)
        {
            if (_written.Add(path))
            {
                writer.AddDirectory(path, metadata);
            }
        }
    }
}
