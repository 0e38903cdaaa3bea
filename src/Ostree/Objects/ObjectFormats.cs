using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Objects;

/// <summary>
/// The GVariant type of every OSTree serialisation, declared once, with member names for
/// error messages. Byte order: GVariant itself is little-endian, but OSTree byte-swaps
/// the fields marked "BE" below to big-endian before serialising them (ostree-core.c
/// <c>GUINT32_TO_BE</c>/<c>GUINT64_TO_BE</c>); everything else is little-endian.
/// </summary>
public static class ObjectFormats
{
    /// <summary>dirmeta: uid BE, gid BE, mode BE (S_IFDIR | perms), xattrs.</summary>
    public static readonly GVariantType DirMeta = GVariantType.Parse("(uuua(ayay))");

    /// <summary>dirtree: files (name, content checksum), dirs (name, dirtree checksum, dirmeta checksum).</summary>
    public static readonly GVariantType DirTree = GVariantType.Parse("(a(say)a(sayay))");

    /// <summary>commit: metadata, parent (0 or 32 bytes), related, subject, body, timestamp BE, root dirtree, root dirmeta.</summary>
    public static readonly GVariantType Commit = GVariantType.Parse("(a{sv}aya(say)sstayay)");

    /// <summary>File header hashed for the checksum: uid BE, gid BE, mode BE, rdev, symlink target, xattrs.</summary>
    public static readonly GVariantType FileHeader = GVariantType.Parse("(uuuusa(ayay))");

    /// <summary><c>.filez</c> header: uncompressed size BE, then the <see cref="FileHeader"/> fields.</summary>
    public static readonly GVariantType ArchiveFileHeader = GVariantType.Parse("(tuuuusa(ayay))");

    /// <summary>bare-user <c>user.ostreemeta</c> xattr: uid BE, gid BE, mode BE, xattrs.</summary>
    public static readonly GVariantType BareUserMeta = DirMeta;

    /// <summary>Extended attributes: (name including its trailing NUL, value), sorted by name.</summary>
    public static readonly GVariantType Xattrs = GVariantType.Parse("a(ayay)");

    /// <summary>Detached commit metadata (<c>.commitmeta</c>), tombstones, <c>summary.sig</c>, delta indexes.</summary>
    public static readonly GVariantType VariantDictionary = GVariantTypes.VariantDictionary;

    /// <summary>summary: refs (name, (commit size LE, checksum, metadata)) sorted by name, then metadata.</summary>
    public static readonly GVariantType Summary = GVariantType.Parse("(a(s(taya{sv}))a{sv})");

    /// <summary>Static delta superblock (see ostree-format.md §8.2).</summary>
    public static readonly GVariantType DeltaSuperblock = GVariantType.Parse("(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))");

    /// <summary>Static delta part payload: mode table, xattr table, blob, operations.</summary>
    public static readonly GVariantType DeltaPart = GVariantType.Parse("(a(uuu)aa(ayay)ayay)");

    internal static readonly string[] DirMetaFields = ["uid", "gid", "mode", "xattrs"];
    internal static readonly string[] DirTreeFields = ["files", "dirs"];
    internal static readonly string[] CommitFields = ["metadata", "parent", "related", "subject", "body", "timestamp", "root-dirtree", "root-dirmeta"];
    internal static readonly string[] FileHeaderFields = ["uid", "gid", "mode", "rdev", "symlink-target", "xattrs"];
    internal static readonly string[] ArchiveFileHeaderFields = ["size", "uid", "gid", "mode", "rdev", "symlink-target", "xattrs"];
    internal static readonly string[] SummaryFields = ["refs", "metadata"];
    internal static readonly string[] DeltaSuperblockFields = ["metadata", "timestamp", "from", "to", "commit", "recursive-deltas", "parts", "fallbacks"];

    // Names down to the tuples inside arrays, so errors read "files[2].name", "xattrs[0].value".
    private static readonly FieldNames XattrNames = new(["name", "value"]);
    private static readonly FieldNames DictEntryNames = new(["key", "value"]);

    internal static readonly FieldNames DirMetaNames = new(DirMetaFields, [null, null, null, XattrNames]);
    internal static readonly FieldNames DirTreeNames = new(DirTreeFields, [new(["name", "checksum"]), new(["name", "tree", "meta"])]);
    internal static readonly FieldNames CommitNames = new(CommitFields, [DictEntryNames, null, new(["name", "checksum"])]);
    internal static readonly FieldNames FileHeaderNames = new(FileHeaderFields, [null, null, null, null, null, XattrNames]);
    internal static readonly FieldNames ArchiveFileHeaderNames = new(ArchiveFileHeaderFields, [null, null, null, null, null, null, XattrNames]);
}
