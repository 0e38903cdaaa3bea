namespace OstreeContainer.Oci.Layers;

/// <summary>The kind of a layer entry.</summary>
public enum LayerEntryType
{
    /// <summary>A regular file; its bytes are in <see cref="LayerReader.Content"/>.</summary>
    File,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link to <see cref="LayerEntry.LinkTarget"/>.</summary>
    Symlink,

    /// <summary>A hard link to the earlier entry <see cref="LayerEntry.LinkTarget"/>.</summary>
    Hardlink,

    /// <summary>A character device.</summary>
    CharDevice,

    /// <summary>A block device.</summary>
    BlockDevice,

    /// <summary>A named pipe.</summary>
    Fifo,
}

/// <summary>
/// One entry read from a layer, with its name normalised and confined: relative,
/// '/'-separated, no '.', '..' or empty components, no trailing '/'. The empty string
/// names the layer's root directory (<c>./</c> in many layers).
/// </summary>
public sealed record LayerEntry
{
    /// <summary>Normalised path, relative to the layer root.</summary>
    public required string Path { get; init; }

    /// <summary>What the entry is.</summary>
    public required LayerEntryType Type { get; init; }

    /// <summary>Permission, setuid, setgid and sticky bits (<c>07777</c>).</summary>
    public required int Mode { get; init; }

    /// <summary>Owner user id.</summary>
    public required long Uid { get; init; }

    /// <summary>Owner group id.</summary>
    public required long Gid { get; init; }

    /// <summary>Length of a regular file's content; 0 for everything else.</summary>
    public required long Size { get; init; }

    /// <summary>Modification time, whole seconds.</summary>
    public required DateTimeOffset ModificationTime { get; init; }

    /// <summary>
    /// A symlink's target as stored (it may be absolute or hold '..': extractors must not
    /// follow symlinks when creating later entries), or a hard link's normalised target.
    /// </summary>
    public string? LinkTarget { get; init; }

    /// <summary>Extended attributes from <c>SCHILY.xattr.*</c> PAX records, in archive order.</summary>
    public IReadOnlyList<KeyValuePair<string, byte[]>> Xattrs { get; init; } = [];

    /// <summary>Major number of a device node.</summary>
    public int DevMajor { get; init; }

    /// <summary>Minor number of a device node.</summary>
    public int DevMinor { get; init; }

    /// <summary>True for an OCI whiteout (<c>.wh.NAME</c>, including the opaque marker).</summary>
    public bool IsWhiteout => FileName.StartsWith(TarFormat.WhiteoutPrefix, StringComparison.Ordinal);

    /// <summary>True for the opaque-directory marker <c>.wh..wh..opq</c>.</summary>
    public bool IsOpaqueWhiteout => FileName == TarFormat.OpaqueWhiteout;

    /// <summary>For a plain whiteout, the path it deletes; otherwise null.</summary>
    public string? WhiteoutTarget
    {
        get
        {
            if (!IsWhiteout || IsOpaqueWhiteout)
            {
                return null;
            }

            var slash = Path.LastIndexOf('/');
            return string.Concat(Path.AsSpan(0, slash + 1), FileName.AsSpan(TarFormat.WhiteoutPrefix.Length));
        }
    }

    private string FileName => Path[(Path.LastIndexOf('/') + 1)..];
}
