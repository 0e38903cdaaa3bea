namespace OstreeContainer.Ostree.Repository;

/// <summary>How a repository stores content objects (<c>core.mode</c>).</summary>
public enum RepoMode
{
    /// <summary>Plain files with real ownership, modes and xattrs (needs root to write).</summary>
    Bare,

    /// <summary>Plain files; uid/gid/mode/xattrs in the <c>user.ostreemeta</c> xattr.</summary>
    BareUser,

    /// <summary>Like bare-user without any xattrs (uid/gid 0, restricted modes).</summary>
    BareUserOnly,

    /// <summary>Like bare, but xattrs stored as separate objects.</summary>
    BareSplitXattrs,

    /// <summary>Compressed <c>.filez</c> objects, served over HTTP (spelled <c>archive-z2</c> on disk).</summary>
    Archive,
}

/// <summary>Config spellings of <see cref="RepoMode"/>.</summary>
public static class RepoModeExtensions
{
    /// <summary>The value written to <c>core.mode</c>.</summary>
    public static string ToConfigString(this RepoMode mode) => mode switch
    {
        RepoMode.Bare => "bare",
        RepoMode.BareUser => "bare-user",
        RepoMode.BareUserOnly => "bare-user-only",
        RepoMode.BareSplitXattrs => "bare-split-xattrs",
        RepoMode.Archive => "archive-z2",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    /// <summary>Parses a <c>core.mode</c> value; <c>archive</c> and <c>archive-z2</c> are the same.</summary>
    public static bool TryParse(string? value, out RepoMode mode)
    {
        (var ok, mode) = value switch
        {
            "bare" => (true, RepoMode.Bare),
            "bare-user" => (true, RepoMode.BareUser),
            "bare-user-only" => (true, RepoMode.BareUserOnly),
            "bare-split-xattrs" => (true, RepoMode.BareSplitXattrs),
            "archive" or "archive-z2" => (true, RepoMode.Archive),
            _ => (false, RepoMode.Bare),
        };
        return ok;
    }
}
