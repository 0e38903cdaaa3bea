using System.Security.Cryptography;

namespace OstreeContainer.TestSupport;

/// <summary>Compares two directory trees: entry types, permission bits, contents, symlink targets and, optionally, ownership.</summary>
public static class TreeDiff
{
    /// <summary>Differences between <paramref name="expected"/> and <paramref name="actual"/>, one line each (empty when equal).</summary>
    public static List<string> Compare(string expected, string actual, bool ownership = false)
    {
        var diffs = new List<string>();
        var a = Index(expected);
        var b = Index(actual);
        foreach (var rel in a.Keys.Union(b.Keys).Order(StringComparer.Ordinal))
        {
            if (!a.TryGetValue(rel, out var x))
            {
                diffs.Add($"+ {rel} (only in {actual})");
                continue;
            }

            if (!b.TryGetValue(rel, out var y))
            {
                diffs.Add($"- {rel} (missing from {actual})");
                continue;
            }

            if (x.Kind != y.Kind)
            {
                diffs.Add($"{rel}: {x.Kind} vs {y.Kind}");
            }
            else if (x.Detail != y.Detail)
            {
                diffs.Add($"{rel}: {x.Detail} vs {y.Detail}");
            }
            else if (x.Kind != 'l' && x.Mode != y.Mode)
            {
                diffs.Add($"{rel}: mode {Convert.ToString(x.Mode, 8)} vs {Convert.ToString(y.Mode, 8)}");
            }
            else if (ownership && x.Owner != y.Owner)
            {
                diffs.Add($"{rel}: owner {x.Owner} vs {y.Owner}");
            }
        }

        return diffs;
    }

    private static Dictionary<string, (char Kind, int Mode, string Detail, string Owner)> Index(string root)
    {
        var result = new Dictionary<string, (char, int, string, string)>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var rel = Path.GetRelativePath(root, path);
            var info = new FileInfo(path);
            var stat = OstreeContainer.Ostree.Posix.UnixStat.LStat(path);
            var owner = $"{stat.Uid}:{stat.Gid}";
            if (info.LinkTarget is { } target)
            {
                result[rel] = ('l', 0, target, owner);
            }
            else if (Directory.Exists(path))
            {
                result[rel] = ('d', (int)(stat.Mode & 0xFFF), "", owner);
            }
            else
            {
                using var stream = File.OpenRead(path);
                result[rel] = ('f', (int)(stat.Mode & 0xFFF), Convert.ToHexStringLower(SHA256.HashData(stream)), owner);
            }
        }

        return result;
    }
}
