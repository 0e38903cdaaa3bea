using System.Text;

namespace OstreeContainer.Ostree.Repository;

/// <summary>
/// The repository <c>config</c> file: a GLib key file (INI) with <c>[core]</c> and
/// <c>[remote "NAME"]</c> groups. Groups, keys and comments keep their order, so a
/// rewritten file differs only where a value changed.
/// </summary>
public sealed class RepoConfig
{
    private readonly List<Group> _groups = [];

    /// <summary>Group names in file order, e.g. <c>core</c>, <c>remote "origin"</c>.</summary>
    public IEnumerable<string> Groups => _groups.Select(g => g.Name);

    /// <summary>Parses key-file text.</summary>
    /// <exception cref="InvalidDataException">A line is neither a group header, a key=value pair, a comment nor blank.</exception>
    public static RepoConfig Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var config = new RepoConfig();
        Group? current = null;
        var lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                (current?.Lines ?? config.Preamble).Add(new Line(null, line));
                continue;
            }

            if (trimmed[0] == '[')
            {
                if (trimmed[^1] != ']' || trimmed.Length < 3)
                {
                    throw new InvalidDataException($"config line {lineNo}: malformed group header '{trimmed}'");
                }

                current = new Group(trimmed[1..^1]);
                config._groups.Add(current);
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || current is null)
            {
                throw new InvalidDataException($"config line {lineNo}: expected 'key=value' inside a [group], found '{trimmed}'");
            }

            current.Lines.Add(new Line(line[..eq].Trim(), line[(eq + 1)..].Trim()));
        }

        return config;
    }

    /// <summary>Reads and parses a config file.</summary>
    public static RepoConfig Load(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext(path);
        }
    }

    /// <summary>The value of <paramref name="key"/> in <paramref name="group"/>, or null.</summary>
    public string? Get(string group, string key)
    {
        var g = Find(group);
        return g?.Lines.LastOrDefault(l => l.Key == key)?.Value;
    }

    /// <summary>A boolean value (<c>true</c>/<c>false</c>, <c>1</c>/<c>0</c>), or <paramref name="fallback"/> when absent.</summary>
    /// <exception cref="InvalidDataException">The value is not a boolean.</exception>
    public bool GetBoolean(string group, string key, bool fallback) => Get(group, key) switch
    {
        null => fallback,
        "true" or "1" => true,
        "false" or "0" => false,
        var other => throw new InvalidDataException($"config [{group}] {key}: '{other}' is not a boolean"),
    };

    /// <summary>Sets (or adds) <paramref name="key"/> in <paramref name="group"/>, creating the group if needed.</summary>
    public void Set(string group, string key, string value)
    {
        var g = Find(group);
        if (g is null)
        {
            g = new Group(group);
            _groups.Add(g);
        }

        var index = g.Lines.FindLastIndex(l => l.Key == key);
        if (index >= 0)
        {
            g.Lines[index] = new Line(key, value);
        }
        else
        {
            g.Lines.Add(new Line(key, value));
        }
    }

    /// <summary>The names of the remotes configured as <c>[remote "NAME"]</c>.</summary>
    public IEnumerable<string> Remotes =>
        _groups.Select(g => g.Name)
            .Where(n => n.StartsWith("remote \"", StringComparison.Ordinal) && n.EndsWith('"'))
            .Select(n => n[8..^1]);

    /// <summary>The group name of a remote.</summary>
    public static string RemoteGroup(string remote) => $"remote \"{remote}\"";

    /// <summary>Serialises in key-file form.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var l in Preamble)
        {
            sb.Append(l.Value).Append('\n');
        }

        foreach (var g in _groups)
        {
            sb.Append('[').Append(g.Name).Append("]\n");
            foreach (var l in g.Lines)
            {
                sb.Append(l.Key is null ? l.Value : $"{l.Key}={l.Value}").Append('\n');
            }
        }

        return sb.ToString();
    }

    private List<Line> Preamble { get; } = [];

    private Group? Find(string name) => _groups.FirstOrDefault(g => g.Name == name);

    private sealed record Line(string? Key, string Value);

    private sealed class Group(string name)
    {
        public string Name { get; } = name;

        public List<Line> Lines { get; } = [];
    }
}
