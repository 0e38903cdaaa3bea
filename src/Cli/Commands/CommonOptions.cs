using System.CommandLine;
using System.Globalization;
using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Cli.Commands;

/// <summary>Options several verbs share, spelled as the <c>ostree</c> CLI spells them.</summary>
internal static class CommonOptions
{
    public static Option<string> Repo() => new("--repo")
    {
        Description = "Path to the OSTree repository",
        Required = true,
    };

    /// <summary>Parses <c>KEY=VALUE</c> pairs into string variants, keeping their order.</summary>
    public static List<KeyValuePair<string, Variant>> KeyValues(IEnumerable<string>? pairs, string option)
    {
        var result = new List<KeyValuePair<string, Variant>>();
        foreach (var pair in pairs ?? [])
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"{option}: '{pair}' is not KEY=VALUE");
            }

            result.Add(new(pair[..eq], Variant.FromString(pair[(eq + 1)..])));
        }

        return result;
    }

    /// <summary>Parses a timestamp: <c>@SECONDS</c>, or a date such as <c>2024-01-01 00:00:00 +0000</c> or ISO 8601.</summary>
    public static ulong ParseTimestamp(string text)
    {
        if (text.StartsWith('@') && ulong.TryParse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return seconds;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            return (ulong)date.ToUnixTimeSeconds();
        }

        throw new ArgumentException($"--timestamp: cannot parse '{text}' (use @SECONDS or 'YYYY-MM-DD HH:MM:SS +ZZZZ')");
    }
}
