namespace OstreeContainer.ImagePuller.Derived;

/// <summary>
/// Where a container layer's path goes in an OSTree commit, after ostree-ext's tar import
/// (<c>ostree-ext/lib/src/tar/write.rs</c>, <c>normalize_validate_path</c>), decided for
/// ostree-container:
/// <list type="bullet">
/// <item><c>etc</c> becomes <c>usr/etc</c> (OSTree keeps the image's defaults there and
/// merges them into <c>/etc</c> at deployment), for entry names, hard-link targets and
/// whiteout targets alike.</item>
/// <item><c>usr</c>, <c>var</c> (kept as is, as ostree-ext does with ostree 2024.3 and
/// later), <c>boot</c>, <c>opt</c> and every other top-level name are kept.</item>
/// <item><c>run</c>, <c>tmp</c>, <c>proc</c>, <c>sys</c>, <c>dev</c>: the top-level entry
/// itself is kept (a mount point), everything below it is dropped and counted under the
/// reason of that name: they are filled at run time, never from the image.</item>
/// <item><c>ostree</c> and <c>sysroot</c> likewise: an image's own repository and the
/// deployment's mount point are never OS content.</item>
/// </list>
/// </summary>
public static class RootfsConventions
{
    /// <summary>The top-level directories whose children are dropped; each name is also its drop reason.</summary>
    public static IReadOnlySet<string> DroppedBelow { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "run", "tmp", "proc", "sys", "dev", "ostree", "sysroot",
    };

    /// <summary>
    /// The reason counted for aufs metadata (<c>.wh..wh.plnk</c>, <c>.wh..wh.aufs</c> and
    /// what lies below them): overlay bookkeeping some old layers carry, never content
    /// (Docker skips it the same way).
    /// </summary>
    public const string AufsMetadataReason = "aufs-metadata";

    private const string AufsMetaPrefix = ".wh..wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    /// <summary>
    /// Maps a normalised layer path (relative, no <c>.</c> or <c>..</c>; empty for the root)
    /// to its path in the commit, or to the reason it is dropped.
    /// </summary>
    /// <returns>The tree path, or null with <paramref name="dropReason"/> set.</returns>
    public static string? Map(string layerPath, out string? dropReason)
    {
        ArgumentNullException.ThrowIfNull(layerPath);
        dropReason = null;
        var slash = layerPath.IndexOf('/', StringComparison.Ordinal);
        var top = slash < 0 ? layerPath : layerPath[..slash];
        if (IsAufsMetadata(layerPath))
        {
            dropReason = AufsMetadataReason;
            return null;
        }

        if (slash >= 0 && DroppedBelow.Contains(top))
        {
            dropReason = top;
            return null;
        }

        if (top == "etc")
        {
            return slash < 0 ? "usr/etc" : string.Concat("usr/", layerPath);
        }

        return layerPath;
    }

    // Any component starting with ".wh..wh." other than the opaque marker itself.
    private static bool IsAufsMetadata(string path)
    {
        if (!path.Contains(AufsMetaPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var range in path.AsSpan().Split('/'))
        {
            var component = path.AsSpan(range);
            if (component.StartsWith(AufsMetaPrefix, StringComparison.Ordinal) && !component.SequenceEqual(OpaqueMarker))
            {
                return true;
            }
        }

        return false;
    }
}
