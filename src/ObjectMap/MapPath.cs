using System.Text;
using OstreeContainer.Errors;

namespace OstreeContainer.ObjectMap;

/// <summary>
/// Paths as the map keys them: absolute, <c>/</c>-separated, no trailing slash except the
/// root. A path splits into (parent with trailing slash, name) so that
/// <c>path = parent + name</c>; the root is <c>("", "/")</c>.
/// </summary>
internal static class MapPath
{
    public const string Root = "/";

    /// <summary>
    /// The canonical form of a path from a caller: a leading slash added, repeated and
    /// trailing slashes dropped. <c>.</c> and <c>..</c> components and NUL are refused
    /// rather than resolved: the map answers for paths exactly as a commit spells them.
    /// </summary>
    /// <exception cref="UserInputException">Empty, or holds <c>.</c>, <c>..</c> or NUL.</exception>
    public static string Normalize(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (IsCanonical(path))
        {
            return path;
        }

        var result = new StringBuilder(path.Length + 1);
        foreach (var component in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (component is "." or ".." || component.Contains('\0', StringComparison.Ordinal))
            {
                throw new UserInputException($"path '{path.Replace("\0", "\\0", StringComparison.Ordinal)}': '.', '..' and NUL are not allowed");
            }

            result.Append('/').Append(component);
        }

        if (result.Length == 0)
        {
            return path.Length == 0 ? throw new UserInputException("path is empty") : Root;
        }

        return result.ToString();
    }

    /// <summary>Splits a canonical path into its key: (parent directory with trailing slash, name).</summary>
    public static (string Parent, string Name) Split(string path)
    {
        if (path == Root)
        {
            return ("", Root);
        }

        var slash = path.LastIndexOf('/');
        return (path[..(slash + 1)], path[(slash + 1)..]);
    }

    /// <summary>The <c>parent</c> key of a canonical directory path's children.</summary>
    public static string ChildParent(string directory) => directory == Root ? Root : directory + "/";

    /// <summary>The path of <paramref name="name"/> inside the directory whose children have parent key <paramref name="childParent"/>.</summary>
    public static string Join(string childParent, string name) => childParent + name;

    private static bool IsCanonical(string path)
    {
        if (path == Root)
        {
            return true;
        }

        if (path.Length < 2 || path[0] != '/' || path[^1] == '/' || path.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        // No empty, "." or ".." component.
        var span = path.AsSpan(1);
        foreach (var range in span.Split('/'))
        {
            var component = span[range];
            if (component.IsEmpty || component is "." or "..")
            {
                return false;
            }
        }

        return true;
    }
}
