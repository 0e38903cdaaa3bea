namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>The kinds of file a client may fetch from <c>/repo/</c>.</summary>
public enum RepoFileKind
{
    /// <summary><c>config</c>: the repo's <c>[core]</c> group, saying archive-z2 when transcoded (<see cref="ServedConfig"/>).</summary>
    Config,

    /// <summary><c>summary</c>.</summary>
    Summary,

    /// <summary><c>summary.sig</c>.</summary>
    SummarySignature,

    /// <summary><c>refs/heads/**</c> or <c>refs/mirrors/**</c>.</summary>
    Ref,

    /// <summary>A content-addressed object (<c>.filez</c>, <c>.dirtree</c>, <c>.dirmeta</c>, <c>.commit</c>): immutable.</summary>
    Object,

    /// <summary>A mutable object file named after a commit: <c>.commitmeta</c>, <c>.tombstone-commit</c>.</summary>
    MutableObject,

    /// <summary><c>deltas/**</c>: superblocks and parts, immutable once written.</summary>
    Delta,

    /// <summary><c>delta-indexes/**</c>: rewritten when deltas change.</summary>
    DeltaIndex,
}

/// <summary>
/// Classifies a request path (relative to <c>/repo/</c>) as one of the files an OSTree
/// client may fetch, or rejects it. This is the whole allow-list: anything else in the
/// repository directory (<c>tmp/</c>, <c>state/</c>, <c>.lock</c>, <c>refs/remotes</c>,
/// listings) is never served. Paths arrive decoded by Kestrel; an encoded slash stays
/// <c>%2F</c> and is rejected here with backslashes, NUL, empty, <c>.</c> and <c>..</c>
/// segments.
/// </summary>
public readonly record struct RepoPath(string Relative, RepoFileKind Kind)
{
    private static readonly string[] ImmutableObjectExtensions = ["filez", "dirtree", "dirmeta", "commit"];
    private static readonly string[] MutableObjectExtensions = ["commitmeta", "tombstone-commit"];

    /// <summary>Cache-Control for this kind: content-addressed files are immutable, the rest short-lived.</summary>
    public string CacheControl => Kind is RepoFileKind.Object or RepoFileKind.Delta
        ? "public, max-age=31536000, immutable"
        : "public, max-age=30, must-revalidate";

    /// <summary>Parses <paramref name="relative"/> (no leading slash); false for anything not servable.</summary>
    public static bool TryParse(ReadOnlySpan<char> relative, out RepoPath path)
    {
        path = default;
        if (relative.IsEmpty || relative.Length > 1024 || relative.ContainsAny('\\', '\0', '%') || !IsCleanPath(relative))
        {
            return false;
        }

        RepoFileKind? kind = relative switch
        {
            "config" => RepoFileKind.Config,
            "summary" => RepoFileKind.Summary,
            "summary.sig" => RepoFileKind.SummarySignature,
            _ when relative.StartsWith("refs/heads/") || relative.StartsWith("refs/mirrors/") => RepoFileKind.Ref,
            _ when relative.StartsWith("objects/") => ClassifyObject(relative["objects/".Length..]),
            _ when relative.StartsWith("deltas/") && relative.Length > "deltas/".Length => RepoFileKind.Delta,
            _ when relative.StartsWith("delta-indexes/") && relative.EndsWith(".index") => RepoFileKind.DeltaIndex,
            _ => null,
        };
        if (kind is null)
        {
            return false;
        }

        path = new RepoPath(relative.ToString(), kind.Value);
        return true;
    }

    /// <summary><c>XX/REST.EXT</c> with 2 + 62 lowercase hex characters and a known extension.</summary>
    private static RepoFileKind? ClassifyObject(ReadOnlySpan<char> rest)
    {
        if (rest.Length < 2 + 1 + 62 + 2 || rest[2] != '/' || rest[65] != '.')
        {
            return null;
        }

        foreach (var c in rest[..2])
        {
            if (!IsLowerHex(c))
            {
                return null;
            }
        }

        foreach (var c in rest[3..65])
        {
            if (!IsLowerHex(c))
            {
                return null;
            }
        }

        var ext = rest[66..];
        foreach (var e in ImmutableObjectExtensions)
        {
            if (ext.SequenceEqual(e))
            {
                return RepoFileKind.Object;
            }
        }

        foreach (var e in MutableObjectExtensions)
        {
            if (ext.SequenceEqual(e))
            {
                return RepoFileKind.MutableObject;
            }
        }

        return null;
    }

    private static bool IsLowerHex(char c) => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f';

    private static bool IsCleanPath(ReadOnlySpan<char> relative)
    {
        foreach (var range in relative.Split('/'))
        {
            var segment = relative[range];
            if (segment.IsEmpty || segment is "." or ".." || segment[0] == '.')
            {
                return false;
            }
        }

        return true;
    }
}
