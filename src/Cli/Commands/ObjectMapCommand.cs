using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OstreeContainer.ObjectMap;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Cli.Commands;

/// <summary><c>object-map build|lookup</c>: the SQLite map of paths and checksums shipped in every image.</summary>
internal static class ObjectMapCommand
{
    public static Command Create() => new("object-map", "Build and query object maps (path <-> checksum databases)")
    {
        CreateBuild(),
        CreateLookup(),
    };

    private static Command CreateBuild()
    {
        var repo = CommonOptions.Repo();
        var refs = new Option<string[]>("--ref") { Description = "Commit checksum, ref or REMOTE:REF to include (repeatable)", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "The map file to write (replaced atomically)", Required = true };
        var command = new Command("build", "Build an object map from commits of a repository") { repo, refs, output };
        command.SetAction((parse, cancel) =>
        {
            var file = parse.GetRequiredValue(output);
            var stats = ObjectMapBuilder.Build(OstreeRepo.Open(parse.GetRequiredValue(repo)), parse.GetRequiredValue(refs), file, cancel);
            parse.InvocationConfiguration.Output.WriteLine(
                $"{file}: {stats.Commits} commit(s), {stats.Entries} paths, {stats.ContentObjects} content objects, {stats.Bytes} bytes");
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command CreateLookup()
    {
        var file = new Argument<string>("FILE") { Description = "The object map" };
        var key = new Argument<string>("PATH|CHECKSUM") { Description = "An absolute path in the commit, or a 64-hex content checksum" };
        var commit = new Option<string?>("--commit") { Description = "Commit checksum or ref in the map (default: the newest commit)" };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text" };
        var command = new Command("lookup", "Look up a path (its checksum and metadata) or a checksum (the paths using it)") { file, key, commit, json };
        command.SetAction(parse =>
        {
            var path = parse.GetRequiredValue(file);
            var wanted = parse.GetRequiredValue(key);
            var selected = parse.GetValue(commit);
            var output = parse.InvocationConfiguration.Output;
            using var map = ObjectMapReader.Open(path);
            if (Checksum.TryParse(wanted, out var checksum))
            {
                IEnumerable<CommitPath> uses = map.FindPaths(checksum);
                if (selected is not null)
                {
                    var only = map.ResolveCommit(selected).Checksum;
                    uses = uses.Where(u => u.Commit == only);
                }

                var list = uses.ToList();
                if (list.Count == 0)
                {
                    throw new KeyNotFoundException($"{checksum}: no path uses this object in {path}{(selected is null ? "" : $" (commit {selected})")}");
                }

                if (parse.GetValue(json))
                {
                    output.WriteLine(JsonSerializer.Serialize(list, ObjectMapJsonContext.Default.IReadOnlyListCommitPath));
                }
                else
                {
                    foreach (var use in list)
                    {
                        output.WriteLine($"{use.Commit} {use.Path}");
                    }
                }

                return 0;
            }

            if (!map.TryGetEntry(wanted, selected, out var entry))
            {
                // A deployed system shows /usr/etc at /etc; the commit itself has no /etc.
                if (!(UsrEtc(wanted) is { } usrEtc && !map.TryGetEntry("/etc", selected, out _) && map.TryGetEntry(usrEtc, selected, out entry)))
                {
                    throw new KeyNotFoundException($"{wanted}: no such path in commit {map.ResolveCommit(selected).Checksum} of {path}");
                }

                parse.InvocationConfiguration.Error.WriteLine(
                    $"ostree-container: note: the commit keeps /etc as /usr/etc (a deployment shows it at /etc); showing {usrEtc}");
            }

            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(entry, ObjectMapJsonContext.Default.ObjectMapEntry));
            }
            else
            {
                WriteEntry(output, entry);
            }

            return 0;
        });
        return command;
    }

    /// <summary><c>/usr/etc/…</c> for a path under <c>/etc</c> (written with or without the leading slash), else null.</summary>
    internal static string? UsrEtc(string path)
    {
        var relative = path.TrimStart('/');
        return relative == "etc" || relative.StartsWith("etc/", StringComparison.Ordinal) ? "/usr/" + relative : null;
    }

    /// <summary>One line in the layout of <c>ostree ls</c> (<c>MODE UID GID SIZE CHECKSUM [DIRMETA] PATH [-> TARGET]</c>), then one line per xattr.</summary>
    private static void WriteEntry(TextWriter output, ObjectMapEntry entry)
    {
        var type = entry.Type switch
        {
            EntryType.Directory => 'd',
            EntryType.Symlink => 'l',
            _ => '-',
        };
        var line = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"{type}0{Convert.ToString(entry.Mode & StatMode.PermissionMask, 8).PadLeft(4, '0')} {entry.Uid} {entry.Gid} {entry.Size,6} {entry.Checksum} ");
        if (entry.DirMeta is { } meta)
        {
            line.Append(CultureInfo.InvariantCulture, $"{meta} ");
        }

        line.Append(entry.Path);
        if (entry.SymlinkTarget is { } target)
        {
            line.Append(" -> ").Append(target);
        }

        output.WriteLine(line.ToString());
        foreach (var xattr in entry.Xattrs)
        {
            output.WriteLine($"    xattr {xattr.Name}={FormatValue(xattr.Value)}");
        }
    }

    /// <summary>Printable ASCII as text, anything else as hex.</summary>
    private static string FormatValue(byte[] value) =>
        value.All(b => b is >= 0x20 and < 0x7f) ? Encoding.ASCII.GetString(value) : "0x" + Convert.ToHexStringLower(value);
}
