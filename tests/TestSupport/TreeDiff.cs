using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

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

    // Metadata comes from GNU find, not from the code under test: a stat bug in the library
    // would otherwise read both trees the same wrong way and hide itself. One record per
    // entry, NUL-terminated fields (names may hold any byte but NUL):
    // "<type> <octal mode> <uid>:<gid> <relative path>" NUL "<symlink target>" NUL.
    private static Dictionary<string, (char Kind, int Mode, string Detail, string Owner)> Index(string root)
    {
        var result = new Dictionary<string, (char, int, string, string)>(StringComparer.Ordinal);
        var fields = Find(root, "%y %m %U:%G %P\\0%l\\0").Split('\0');
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            var parts = fields[i].Split(' ', 4);
            var (type, mode, owner, rel) = (parts[0][0], Convert.ToInt32(parts[1], 8), parts[2], parts[3]);
            if (type == 'l')
            {
                result[rel] = ('l', 0, fields[i + 1], owner);
            }
            else if (type == 'd')
            {
                result[rel] = ('d', mode, "", owner);
            }
            else
            {
                using var stream = File.OpenRead(Path.Combine(root, rel));
                result[rel] = ('f', mode, Convert.ToHexStringLower(SHA256.HashData(stream)), owner);
            }
        }

        return result;
    }

    // Peer.Run reads lines (and would turn a \r in a name into \n): read the raw bytes here.
    private static string Find(string root, string format)
    {
        var psi = new ProcessStartInfo(Peer.Require("find"))
        {
            ArgumentList = { root, "-mindepth", "1", "-printf", format },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var stdout = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(stdout);
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"find {root} exited {process.ExitCode}: {stderr.Result.Trim()}");
        }

        return Encoding.UTF8.GetString(stdout.GetBuffer(), 0, (int)stdout.Length);
    }
}
