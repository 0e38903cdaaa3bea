namespace OstreeContainer.Ostree.Objects;

/// <summary>OSTree object types; the numeric values appear in static deltas and <c>ostree.sizes</c>.</summary>
public enum ObjectType : byte
{
    /// <summary>Regular file or symlink content (<c>.file</c>, archive <c>.filez</c>).</summary>
    File = 1,

    /// <summary>Directory listing (<c>.dirtree</c>).</summary>
    DirTree = 2,

    /// <summary>Directory ownership, mode and xattrs (<c>.dirmeta</c>).</summary>
    DirMeta = 3,

    /// <summary>Commit (<c>.commit</c>).</summary>
    Commit = 4,

    /// <summary>Marker for a deleted commit (<c>.tombstone-commit</c>).</summary>
    TombstoneCommit = 5,

    /// <summary>Detached commit metadata, e.g. signatures (<c>.commitmeta</c>).</summary>
    CommitMeta = 6,

    /// <summary>Payload link (bare modes only).</summary>
    PayloadLink = 7,

    /// <summary>Split xattrs (bare-split-xattrs only).</summary>
    FileXattrs = 8,

    /// <summary>Link to split xattrs (bare-split-xattrs only).</summary>
    FileXattrsLink = 9,
}

/// <summary>File-name extensions and classification of <see cref="ObjectType"/>.</summary>
public static class ObjectTypeExtensions
{
    /// <summary>Metadata objects are ids 2–6; only they are stored identically in every mode.</summary>
    public static bool IsMetadata(this ObjectType type) => type is >= ObjectType.DirTree and <= ObjectType.CommitMeta;

    /// <summary>The file extension (without dot) of an object of this type in a repo of the given kind.</summary>
    public static string Extension(this ObjectType type, bool archive = false) => type switch
    {
        ObjectType.File => archive ? "filez" : "file",
        ObjectType.DirTree => "dirtree",
        ObjectType.DirMeta => "dirmeta",
        ObjectType.Commit => "commit",
        ObjectType.TombstoneCommit => "tombstone-commit",
        ObjectType.CommitMeta => "commitmeta",
        ObjectType.PayloadLink => "payload-link",
        ObjectType.FileXattrs => "file-xattrs",
        ObjectType.FileXattrsLink => "file-xattrs-link",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown object type"),
    };

    /// <summary>Parses an extension; <c>filez</c> and <c>file</c> both mean <see cref="ObjectType.File"/>.</summary>
    public static bool TryParseExtension(ReadOnlySpan<char> extension, out ObjectType type)
    {
        type = extension switch
        {
            "file" or "filez" => ObjectType.File,
            "dirtree" => ObjectType.DirTree,
            "dirmeta" => ObjectType.DirMeta,
            "commit" => ObjectType.Commit,
            "tombstone-commit" => ObjectType.TombstoneCommit,
            "commitmeta" => ObjectType.CommitMeta,
            "payload-link" => ObjectType.PayloadLink,
            "file-xattrs" => ObjectType.FileXattrs,
            "file-xattrs-link" => ObjectType.FileXattrsLink,
            _ => 0,
        };
        return type != 0;
    }

    /// <summary>The lowercase name used in messages (<c>dirtree</c>, <c>file</c>…).</summary>
    public static string Name(this ObjectType type) => type.Extension();
}
