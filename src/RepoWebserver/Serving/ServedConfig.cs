using System.Text;

namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>
/// The <c>config</c> a client reads: the repo's own <c>[core]</c> group, line for line, so
/// every key a puller consults (<c>mode</c>, <c>indexed-deltas</c>, <c>tombstone-commits</c>,
/// <c>collection-id</c>…) says what the repo says. Other groups (<c>[remote "…"]</c> and the
/// like) are the server machine's own settings, which may name local paths or credentials,
/// and no client reads them: they are left out. A repo that is not an archive is served
/// as one (its objects are transcoded to <c>.filez</c>), so only its <c>mode</c> is
/// rewritten, to <c>archive-z2</c>, as <c>ostree init --mode=archive</c> writes it.
/// </summary>
/// <remarks>
/// The file is a GLib key file: <c>[group]</c> headers, <c>key=value</c> lines with
/// whitespace around the key ignored, <c>#</c> comments, and a group may recur (GLib merges
/// them). Lines are copied as bytes, so an archive repo whose config holds only
/// <c>[core]</c> (what ostree writes) is served byte for byte as on disk.
/// </remarks>
public static class ServedConfig
{
    /// <summary>The longest config file served: ostree's are under 200 bytes.</summary>
    public const int MaxLength = 64 * 1024;

    private const string CoreGroup = "core";
    private const string ModeKey = "mode";

    /// <summary>The <c>mode</c> line of an archive repo, as ostree writes it.</summary>
    private static readonly byte[] ArchiveModeLine = Encoding.ASCII.GetBytes("mode=archive-z2");

    /// <summary>
    /// The bytes to serve for the config file <paramref name="disk"/>; when
    /// <paramref name="transcoded"/> (the repo is not an archive), <c>mode</c> says
    /// <c>archive-z2</c>, added to <c>[core]</c> when the file has none.
    /// </summary>
    public static byte[] Build(ReadOnlySpan<byte> disk, bool transcoded)
    {
        var output = new MemoryStream(disk.Length + ArchiveModeLine.Length + 8);
        var inCore = false;
        var sawCore = false;
        var modeWritten = false;
        while (!disk.IsEmpty)
        {
            var end = disk.IndexOf((byte)'\n');
            var lineWithEnd = end < 0 ? disk : disk[..(end + 1)];
            var line = end < 0 ? disk : disk[..end];
            disk = disk[lineWithEnd.Length..];

            if (GroupName(line) is { } group)
            {
                if (inCore && transcoded && !modeWritten)
                {
                    // The group ends without a mode (GLib's default is bare): say archive-z2.
                    WriteLine(output, ArchiveModeLine);
                    modeWritten = true;
                }

                inCore = group == CoreGroup;
                sawCore |= inCore;
                if (inCore)
                {
                    output.Write(lineWithEnd);
                }

                continue;
            }

            if (!inCore)
            {
                continue;
            }

            if (transcoded && IsKey(line, ModeKey))
            {
                // A repeated mode (GLib keeps the last) is written once: ours.
                if (!modeWritten)
                {
                    WriteLine(output, ArchiveModeLine);
                    modeWritten = true;
                }

                continue;
            }

            output.Write(lineWithEnd);
        }

        if (transcoded && !modeWritten)
        {
            if (!sawCore)
            {
                WriteLine(output, "[core]"u8);
            }

            WriteLine(output, ArchiveModeLine);
        }

        return output.ToArray();
    }

    /// <summary>The group a <c>[name]</c> header line opens, or null for any other line.</summary>
    private static string? GroupName(ReadOnlySpan<byte> line)
    {
        line = line.Trim(" \t\r"u8);
        return line is [(byte)'[', .. var name, (byte)']'] ? Encoding.UTF8.GetString(name) : null;
    }

    /// <summary>Whether <paramref name="line"/> sets <paramref name="key"/> (<c>key=…</c>, <c>key = …</c>).</summary>
    private static bool IsKey(ReadOnlySpan<byte> line, string key)
    {
        line = line.TrimStart(" \t"u8);
        if (line.IsEmpty || line[0] == (byte)'#')
        {
            return false;
        }

        var eq = line.IndexOf((byte)'=');
        return eq > 0 && Encoding.ASCII.GetString(line[..eq].TrimEnd(" \t"u8)) == key;
    }

    /// <summary>Appends a line; when the file's last line lacked its newline, this one must not join it.</summary>
    private static void WriteLine(MemoryStream output, ReadOnlySpan<byte> line)
    {
        if (output.Length > 0 && output.GetBuffer()[output.Length - 1] != (byte)'\n')
        {
            output.WriteByte((byte)'\n');
        }

        output.Write(line);
        output.WriteByte((byte)'\n');
    }
}
