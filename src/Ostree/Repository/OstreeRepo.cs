using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using OstreeContainer.Errors;
using OstreeContainer.Ostree.Objects;
using Microsoft.Win32.SafeHandles;
using OstreeContainer.Ostree.Posix;

namespace OstreeContainer.Ostree.Repository;

/// <summary>
/// An OSTree repository on disk, in any mode. Reads are safe from many threads; writes go
/// through a <see cref="RepoTransaction"/> so nothing unverified or half-written ever
/// appears under <c>objects/</c> or <c>refs/</c>.
/// </summary>
public sealed class OstreeRepo
{
    /// <summary>Largest metadata object read into memory (ostree HEAD's OSTREE_MAX_METADATA_SIZE).</summary>
    public const long MaxMetadataSize = 128L << 20;

    /// <summary>The xattr in which bare-user repos keep a content object's uid, gid, mode and xattrs.</summary>
    public const string BareUserMetaXattr = "user.ostreemeta";

    /// <summary>Bytes read at once from the start of a <c>.filez</c>: enough for a header without large xattrs.</summary>
    private const int ArchiveHeaderFirstRead = 512;

    private OstreeRepo(string path, RepoMode mode, RepoConfig config)
    {
        Root = path;
        Mode = mode;
        Config = config;
    }

    /// <summary>
    /// Absolute path of the repository's root directory, the one holding <c>config</c>,
    /// <c>objects/</c> and <c>refs/</c>.
    /// </summary>
    public string Root { get; }

    /// <summary>How content objects are stored.</summary>
    public RepoMode Mode { get; }

    /// <summary>The parsed <c>config</c> file.</summary>
    public RepoConfig Config { get; }

    /// <summary>True for archive repos (compressed <c>.filez</c> content objects).</summary>
    public bool IsArchive => Mode == RepoMode.Archive;

    /// <summary>The <c>archive.zlib-level</c> setting (1–9, default 6).</summary>
    public int CompressionLevel => int.TryParse(Config.Get("archive", "zlib-level"), out var level) && level is >= 1 and <= 9 ? level : 6;

    /// <summary>Whether writes are flushed to disk before they become visible (<c>core.fsync</c>, default true).</summary>
    public bool Fsync => Config.GetBoolean("core", "fsync", true);

    /// <summary>Opens an existing repository.</summary>
    /// <exception cref="InvalidDataException">Not a repository, or an unsupported version/mode.</exception>
    public static OstreeRepo Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var configPath = Path.Combine(full, "config");
        if (!File.Exists(configPath) || !Directory.Exists(Path.Combine(full, "objects")))
        {
            throw new InvalidDataException($"{path}: not an OSTree repository (no config or objects/)");
        }

        var config = RepoConfig.Load(configPath);
        var version = config.Get("core", "repo_version");
        if (version != "1")
        {
            throw new InvalidDataException($"{path}: config core.repo_version is '{version}', only 1 is supported");
        }

        if (config.GetBoolean("core", "archive", false))
        {
            throw new InvalidDataException($"{path}: legacy 'core.archive=true' repositories are not supported");
        }

        var modeText = config.Get("core", "mode") ?? "bare";
        if (!RepoModeExtensions.TryParse(modeText, out var mode))
        {
            throw new InvalidDataException($"{path}: unknown repository mode '{modeText}'");
        }

        return new OstreeRepo(full, mode, config);
    }

    /// <summary>
    /// Creates a new empty repository the way <c>ostree init</c> does (config, objects,
    /// refs/heads|remotes|mirrors, state, tmp/cache, extensions). Fails if one exists.
    /// </summary>
    public static OstreeRepo Create(string path, RepoMode mode)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        if (File.Exists(Path.Combine(full, "config")))
        {
            throw new IOException($"{path}: a repository already exists here");
        }

        string[] directories = ["objects", .. Enum.GetValues<RefKind>().Select(k => k.RelativeDirectory()), "state", "tmp/cache", "extensions"];
        foreach (var dir in directories)
        {
            Directory.CreateDirectory(Path.Combine(full, dir));
        }

        var config = RepoConfig.Parse($"[core]\nrepo_version=1\nmode={mode.ToConfigString()}\n");
        WriteFileAtomically(Path.Combine(full, "config"), Encoding.UTF8.GetBytes(config.ToString()), fsync: true);
        return new OstreeRepo(full, mode, config);
    }

    /// <summary>Opens <paramref name="path"/> if it is a repository, else creates one in <paramref name="mode"/>.</summary>
    public static OstreeRepo OpenOrCreate(string path, RepoMode mode) =>
        File.Exists(Path.Combine(path, "config")) ? Open(path) : Create(path, mode);

    /// <summary>Starts a transaction; objects written through it appear only on <see cref="RepoTransaction.Commit"/>.</summary>
    public RepoTransaction BeginTransaction() => new(this);

    /// <summary>Writes <see cref="Config"/> back to the <c>config</c> file (atomically).</summary>
    public void SaveConfig() =>
        WriteFileAtomically(Path.Combine(Root, "config"), Encoding.UTF8.GetBytes(Config.ToString()), Fsync);

    /// <summary>The object's path relative to the repository: <c>objects/XX/REST.EXT</c>.</summary>
    public string RelativeObjectPath(Checksum checksum, ObjectType type)
    {
        var hex = checksum.ToString();
        return $"objects/{hex[..2]}/{hex[2..]}.{type.Extension(IsArchive)}";
    }

    /// <summary>The object's absolute path.</summary>
    public string ObjectPath(Checksum checksum, ObjectType type) => Path.Combine(Root, RelativeObjectPath(checksum, type));

    /// <summary>Whether the object exists (as a file or, for bare symlinks, a link).</summary>
    public bool HasObject(Checksum checksum, ObjectType type) => PathExists(ObjectPath(checksum, type));

    /// <summary>Reads a metadata object's bytes (or a commitmeta); null when absent.</summary>
    /// <exception cref="InvalidDataException">Larger than <paramref name="maxSize"/>.</exception>
    public byte[]? TryReadMetadataBytes(Checksum checksum, ObjectType type, long maxSize = MaxMetadataSize)
    {
        if (!type.IsMetadata())
        {
            throw new ArgumentException($"{type} is not a metadata object type", nameof(type));
        }

        var path = ObjectPath(checksum, type);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var length = RandomAccess.GetLength(handle);
            if (length > maxSize)
            {
                throw new InvalidDataException($"{type.Name()} {checksum}: {length} bytes exceeds the {maxSize}-byte limit for metadata");
            }

            var data = new byte[length];
            var read = 0;
            while (read < data.Length)
            {
                var n = RandomAccess.Read(handle, data.AsSpan(read), read);
                if (n == 0)
                {
                    throw new InvalidDataException($"{type.Name()} {checksum}: file shrank while being read");
                }

                read += n;
            }

            return data;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Reads a metadata object's bytes.</summary>
    /// <exception cref="FileNotFoundException">The object is missing.</exception>
    public byte[] ReadMetadataBytes(Checksum checksum, ObjectType type) =>
        TryReadMetadataBytes(checksum, type) ?? throw new FileNotFoundException($"{type.Name()} {checksum} is missing from {Root}", ObjectPath(checksum, type));

    /// <summary>Reads and parses a commit.</summary>
    public Commit ReadCommit(Checksum checksum) => Parse(checksum, ObjectType.Commit, d => Commit.Parse(d));

    /// <summary>Reads and parses a dirtree.</summary>
    public DirTree ReadDirTree(Checksum checksum) => Parse(checksum, ObjectType.DirTree, d => DirTree.Parse(d));

    /// <summary>Reads and parses a dirmeta.</summary>
    public DirMeta ReadDirMeta(Checksum checksum) => Parse(checksum, ObjectType.DirMeta, d => DirMeta.Parse(d));

    /// <summary>Reads a commit's detached metadata; null when it has none.</summary>
    public VariantDictionary? ReadCommitMeta(Checksum commit)
    {
        var data = TryReadMetadataBytes(commit, ObjectType.CommitMeta);
        if (data is null)
        {
            return null;
        }

        try
        {
            return VariantDictionary.Parse(data);
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext($"commitmeta {commit}");
        }
    }

    /// <summary>
    /// Opens a content object in any mode: <c>.filez</c> is parsed and inflated, bare-user
    /// metadata comes from <c>user.ostreemeta</c>, bare from the file's own stat and xattrs.
    /// </summary>
    /// <exception cref="FileNotFoundException">The object is missing.</exception>
    /// <exception cref="InvalidDataException">Its header is malformed.</exception>
    public ContentObject OpenContent(Checksum checksum)
    {
        var path = ObjectPath(checksum, ObjectType.File);
        if (!PathExists(path))
        {
            throw new FileNotFoundException($"file {checksum} is missing from {Root}", path);
        }

        try
        {
            return Mode switch
            {
                RepoMode.Archive => OpenArchiveContent(checksum, path),
                RepoMode.BareUser or RepoMode.BareUserOnly => OpenBareUserContent(checksum, path),
                _ => OpenBareContent(checksum, path),
            };
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext($"file {checksum}");
        }
    }

    /// <summary>
    /// Reads a content object's header (owner, mode, xattrs, symlink target) and content
    /// length without reading its content: from an archive repo only the <c>.filez</c>
    /// header is read, nothing is inflated.
    /// </summary>
    /// <exception cref="FileNotFoundException">The object is missing.</exception>
    /// <exception cref="InvalidDataException">Its header is malformed.</exception>
    public (FileHeader Header, long Size) ReadContentHeader(Checksum checksum)
    {
        if (!IsArchive)
        {
            // Bare modes keep the header in stat and xattrs; opening the content reads nothing.
            using var content = OpenContent(checksum);
            return (content.Header, content.Size);
        }

        var path = ObjectPath(checksum, ObjectType.File);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"file {checksum} is missing from {Root}", path);
        }

        using (handle)
        {
            try
            {
                var header = ReadArchiveHeader(handle, out var size, out _);
                return (header, size);
            }
            catch (InvalidDataException e)
            {
                throw e.WithContext($"file {checksum}");
            }
        }
    }

    /// <summary>Every object file under <c>objects/</c> with its checksum and type (unordered).</summary>
    public IEnumerable<(Checksum Checksum, ObjectType Type)> EnumerateObjects()
    {
        var objects = Path.Combine(Root, "objects");
        foreach (var dir in Directory.EnumerateDirectories(objects))
        {
            var prefix = Path.GetFileName(dir);
            if (prefix.Length != 2)
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFileSystemEntries(dir))
            {
                var name = Path.GetFileName(file);
                var dot = name.IndexOf('.', StringComparison.Ordinal);
                if (dot != Checksum.HexLength - 2
                    || !Checksum.TryParse(prefix + name[..dot], out var checksum)
                    || !ObjectTypeExtensions.TryParseExtension(name.AsSpan(dot + 1), out var type))
                {
                    continue;
                }

                yield return (checksum, type);
            }
        }
    }

    /// <summary>All refs of the given kinds (every kind when none is given), sorted by name.</summary>
    public IReadOnlyList<KeyValuePair<RefName, Checksum>> ListRefs(params RefKind[] kinds)
    {
        var result = new List<KeyValuePair<RefName, Checksum>>();
        foreach (var kind in kinds.Length == 0 ? Enum.GetValues<RefKind>() : kinds)
        {
            var root = Path.Combine(Root, kind.RelativeDirectory());
            if (!Directory.Exists(root))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            {
                if (RefName.TryFromKindPath(kind, Path.GetRelativePath(root, file), out var name))
                {
                    result.Add(new(name, ReadRefFile(file, name.ToString())));
                }
            }
        }

        result.Sort((a, b) => NameOrder.Instance.Compare(a.Key.ToString(), b.Key.ToString()));
        return result;
    }

    /// <summary>
    /// Resolves a rev: a full checksum, a local ref, or <c>REMOTE:REF</c>. Like ostree, a
    /// plain name not found under heads is also looked up under every remote.
    /// </summary>
    public bool TryResolveRev(string rev, out Checksum checksum)
    {
        ArgumentNullException.ThrowIfNull(rev);
        if (Checksum.TryParse(rev, out checksum))
        {
            return true;
        }

        RefName name;
        try
        {
            name = RefName.Parse(rev);
        }
        catch (UserInputException)
        {
            return false;
        }

        var path = Path.Combine(Root, name.RelativePath);
        if (File.Exists(path))
        {
            checksum = ReadRefFile(path, rev);
            return true;
        }

        var remotes = Path.Combine(Root, RefKind.Remote.RelativeDirectory());
        if (name.Kind == RefKind.Head && Directory.Exists(remotes))
        {
            foreach (var remote in Directory.EnumerateDirectories(remotes))
            {
                var candidate = Path.Combine(remote, name.Name);
                if (File.Exists(candidate))
                {
                    checksum = ReadRefFile(candidate, rev);
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Resolves a rev (see <see cref="TryResolveRev"/>).</summary>
    /// <exception cref="KeyNotFoundException">No such ref.</exception>
    public Checksum ResolveRev(string rev) =>
        TryResolveRev(rev, out var checksum) ? checksum : throw new KeyNotFoundException($"ref '{rev}' not found in {Root}");

    /// <summary>Points <paramref name="name"/> at <paramref name="target"/> (atomically), or deletes it when null.</summary>
    public void SetRef(RefName name, Checksum? target)
    {
        var path = Path.Combine(Root, name.RelativePath);
        if (target is null)
        {
            File.Delete(path);
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        WriteFileAtomically(path, Encoding.ASCII.GetBytes(target.Value + "\n"), Fsync);
    }

    internal static void WriteFileAtomically(string path, ReadOnlySpan<byte> data, bool fsync)
    {
        var dir = Path.GetDirectoryName(path)!;
        var tmp = Path.Combine(dir, $".tmp-{Path.GetFileName(path)}-{Guid.NewGuid():N}");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0))
            {
                stream.Write(data);
                if (fsync)
                {
                    stream.Flush(flushToDisk: true);
                }
            }

            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    internal static bool PathExists(string path) => UnixStat.Exists(path);

    private static Checksum ReadRefFile(string path, string name)
    {
        var text = File.ReadAllText(path).TrimEnd();
        return Checksum.TryParse(text, out var checksum)
            ? checksum
            : throw new InvalidDataException($"ref {name}: file {path} does not hold a checksum");
    }

    private T Parse<T>(Checksum checksum, ObjectType type, Func<byte[], T> parse)
    {
        var data = ReadMetadataBytes(checksum, type);
        try
        {
            return parse(data);
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext($"{type.Name()} {checksum}");
        }
    }

    private static ContentObject OpenArchiveContent(Checksum checksum, string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        try
        {
            var header = ReadArchiveHeader(handle, out var size, out var payloadOffset);
            if (header.IsSymlink)
            {
                handle.Dispose();
                return new ContentObject(checksum, header, 0, Stream.Null);
            }

            var stream = new FileStream(handle, FileAccess.Read, 1) { Position = payloadOffset };
            var content = new LengthCheckedStream(new DeflateStream(new BufferedStream(stream, 64 * 1024), CompressionMode.Decompress), size, checksum);
            return new ContentObject(checksum, header, size, content);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Parses the header at the start of a <c>.filez</c> object (BE32 length, 4 zero bytes,
    /// the <c>(tuuuusa(ayay))</c> variant) with one read for the common small header.
    /// <paramref name="size"/> is the declared uncompressed size, <paramref name="payloadOffset"/>
    /// where the raw-deflate stream starts.
    /// </summary>
    private static FileHeader ReadArchiveHeader(SafeFileHandle handle, out long size, out int payloadOffset)
    {
        var fileLength = RandomAccess.GetLength(handle);
        Span<byte> first = stackalloc byte[ArchiveHeaderFirstRead];
        first = first[..(int)Math.Min(first.Length, fileLength)];
        ReadExactlyAt(handle, first, 0);
        if (first.Length < FileHeader.PrefixLength)
        {
            throw new InvalidDataException($"header: {fileLength} bytes, shorter than the {FileHeader.PrefixLength}-byte length prefix");
        }

        var headerLength = BinaryPrimitives.ReadUInt32BigEndian(first);
        if (headerLength == 0 || headerLength > MaxMetadataSize || headerLength > fileLength - FileHeader.PrefixLength)
        {
            throw new InvalidDataException($"header length: {headerLength} does not fit in the {fileLength}-byte object");
        }

        var total = FileHeader.PrefixLength + (int)headerLength;
        byte[]? rented = null;
        try
        {
            scoped ReadOnlySpan<byte> data;
            if (total <= first.Length)
            {
                data = first[..total];
            }
            else
            {
                // Large xattrs: read the rest of the header into one pooled buffer.
                rented = ArrayPool<byte>.Shared.Rent(total);
                first.CopyTo(rented);
                ReadExactlyAt(handle, rented.AsSpan(first.Length, total - first.Length), first.Length);
                data = rented.AsSpan(0, total);
            }

            var header = FileHeader.ParseArchive(data, out var declared, out payloadOffset);
            if (declared > long.MaxValue)
            {
                throw new InvalidDataException($"size: {declared} is too large");
            }

            size = (long)declared;
            return header;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static void ReadExactlyAt(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer[read..], offset + read);
            if (n == 0)
            {
                throw new InvalidDataException("file shrank while being read");
            }

            read += n;
        }
    }

    private static ContentObject OpenBareUserContent(Checksum checksum, string path)
    {
        var meta = FileSystem.GetXattr(path, BareUserMetaXattr)
            ?? throw new InvalidDataException($"{BareUserMetaXattr}: xattr missing on {path}");
        var header = FileHeader.FromBareUserMeta(meta, () => ReadBareUserSymlinkTarget(path));
        if (header.IsSymlink)
        {
            return new ContentObject(checksum, header, 0, Stream.Null);
        }

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.SequentialScan);
        return new ContentObject(checksum, header, stream.Length, stream);
    }

    /// <summary>bare-user keeps a symlink as a regular file holding the target and one NUL.</summary>
    private static string ReadBareUserSymlinkTarget(string path)
    {
        var length = new FileInfo(path).Length;
        if (length > FileHeader.MaxSymlinkTarget + 1)
        {
            throw new InvalidDataException($"symlink-target: {length} bytes is too long");
        }

        var bytes = File.ReadAllBytes(path);
        return Encoding.UTF8.GetString(bytes.AsSpan().TrimEnd((byte)0));
    }

    private ContentObject OpenBareContent(Checksum checksum, string path)
    {
        var info = new FileInfo(path);
        var status = UnixStat.LStat(path);
        var xattrs = Mode == RepoMode.BareSplitXattrs ? ReadSplitXattrs(checksum) : ReadFileXattrs(path);
        if (StatMode.IsSymlink(status.Mode))
        {
            var header = FileHeader.Symlink(status.Uid, status.Gid, info.LinkTarget ?? "", xattrs);
            header.Validate();
            return new ContentObject(checksum, header, 0, Stream.Null);
        }

        var regular = new FileHeader(status.Uid, status.Gid, status.Mode, "", xattrs);
        regular.Validate();
        return new ContentObject(checksum, regular, info.Length, new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.SequentialScan));
    }

    private IReadOnlyList<Xattr> ReadSplitXattrs(Checksum checksum)
    {
        // bare-split-xattrs: the xattrs live in a .file-xattrs object, hardlinked as
        // <content checksum>.file-xattrs-link next to the content object.
        var link = ObjectPath(checksum, ObjectType.FileXattrsLink);
        if (!File.Exists(link))
        {
            return [];
        }

        var value = GVariant.GVariantReader.DecodeNormal(ObjectFormats.Xattrs, File.ReadAllBytes(link));
        return Xattr.FromValue(value);
    }

    internal static IReadOnlyList<Xattr> ReadFileXattrs(string path)
    {
        var names = FileSystem.ListXattrs(path);
        if (names.Count == 0)
        {
            return [];
        }

        var xattrs = new List<Xattr>(names.Count);
        foreach (var name in names)
        {
            var value = FileSystem.GetXattr(path, name);
            if (value is not null)
            {
                xattrs.Add(new Xattr(name, value));
            }
        }

        return [.. Xattr.Sorted(xattrs)];
    }
}
