using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace OstreeContainer.TestSupport;

/// <summary>
/// One line of <c>ostree ls -R -C [-X] REV</c>: <c>MODE UID GID SIZE CHECKSUM [DIRMETA] [{ XATTRS }] PATH [-> TARGET]</c>.
/// For a directory CHECKSUM is the dirtree and DIRMETA the dirmeta checksum.
/// </summary>
public sealed record OstreeLsEntry(char Type, uint Permissions, uint Uid, uint Gid, long Size, string Checksum, string? DirMeta, string Path, string? SymlinkTarget, IReadOnlyList<(string Name, byte[] Value)>? Xattrs);

/// <summary>Runs the real <c>ostree ls</c> and parses what it prints.</summary>
public static partial class OstreeLs
{
    /// <summary>Every path of <paramref name="rev"/>, recursively, in the order ostree prints them.</summary>
    public static List<OstreeLsEntry> List(string repo, string rev, bool xattrs = false)
    {
        var output = xattrs ? Peer.Ostree(repo, "ls", "-R", "-C", "-X", rev) : Peer.Ostree(repo, "ls", "-R", "-C", rev);
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Parse)];
    }

    /// <summary>Parses one line.</summary>
    public static OstreeLsEntry Parse(string line)
    {
        var m = LinePattern().Match(line);
        if (!m.Success)
        {
            throw new FormatException($"unexpected ostree ls line: {line}");
        }

        var type = m.Groups["type"].Value[0];
        var path = m.Groups["rest"].Value;
        string? target = null;
        if (type == 'l')
        {
            var arrow = path.IndexOf(" -> ", StringComparison.Ordinal);
            target = path[(arrow + 4)..];
            path = path[..arrow];
        }

        return new OstreeLsEntry(
            type,
            Convert.ToUInt32(m.Groups["perm"].Value, 8),
            uint.Parse(m.Groups["uid"].Value, CultureInfo.InvariantCulture),
            uint.Parse(m.Groups["gid"].Value, CultureInfo.InvariantCulture),
            long.Parse(m.Groups["size"].Value, CultureInfo.InvariantCulture),
            m.Groups["checksum"].Value,
            m.Groups["meta"].Success ? m.Groups["meta"].Value : null,
            path,
            target,
            m.Groups["xattrs"].Success ? ParseXattrs(m.Groups["xattrs"].Value) : null);
    }

    /// <summary>Parses GLib's print of an <c>a(ayay)</c>: <c>[(b'name', [byte 0x76, …])]</c> or <c>@a(ayay) []</c>.</summary>
    private static List<(string Name, byte[] Value)> ParseXattrs(string text)
    {
        var result = new List<(string, byte[])>();
        foreach (Match x in XattrPattern().Matches(text))
        {
            var value = x.Groups["bytes"].Success
                ? [.. x.Groups["bytes"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(b => Convert.ToByte(b.Replace("byte ", "", StringComparison.Ordinal), 16))]
                : Encoding.UTF8.GetBytes(x.Groups["string"].Value + "\0");
            result.Add((x.Groups["name"].Value, value));
        }

        return result;
    }

    [GeneratedRegex(@"^(?<type>[-dl])0(?<perm>[0-7]{4}) (?<uid>\d+) (?<gid>\d+) +(?<size>\d+) (?<checksum>[0-9a-f]{64}) (?:(?<meta>[0-9a-f]{64}) )?(?:\{ (?<xattrs>.*) \} )?(?<rest>/.*)$")]
    private static partial Regex LinePattern();

    [GeneratedRegex(@"\(b'(?<name>[^']*)', (?:\[(?<bytes>[^\]]*)\]|b'(?<string>[^']*)')\)")]
    private static partial Regex XattrPattern();
}
