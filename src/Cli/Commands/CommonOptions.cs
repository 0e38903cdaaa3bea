using System.CommandLine;
using System.Globalization;
using OstreeContainer.Errors;
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
                throw new UserInputException($"{option}: '{pair}' is not KEY=VALUE");
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

        throw new UserInputException($"--timestamp: cannot parse '{text}' (use @SECONDS or 'YYYY-MM-DD HH:MM:SS +ZZZZ')");
    }
}

/// <summary>
/// An option taking one of a few words, spelled in lower case as the README writes them
/// (<c>--compression &lt;gzip|zstd|none&gt;</c>), parsed once into <typeparamref name="T"/>.
/// </summary>
/// <remarks>
/// The value is nullable and the default is applied by <see cref="GetValue"/>: an option
/// with a default value factory would have its help print the enum's own spelling
/// (<c>[default: Gzip]</c>).
/// </remarks>
internal sealed class ChoiceOption<T> : Option<T?>
    where T : struct, Enum
{
    private readonly T _default;

    /// <summary>An option <paramref name="name"/> accepting <paramref name="choices"/>, in that order, lower-cased.</summary>
    public ChoiceOption(string name, string description, T defaultValue, params T[] choices)
        : base(name)
    {
        _default = defaultValue;
        var words = choices.Select(c => c.ToString().ToLowerInvariant()).ToArray();
        Description = $"{description} [default: {defaultValue.ToString().ToLowerInvariant()}]";
        HelpName = string.Join('|', words);
        CustomParser = result =>
        {
            var token = result.Tokens[0].Value;
            var index = Array.IndexOf(words, token);
            if (index < 0)
            {
                result.AddError($"{name}: '{token}' is not {string.Join(", ", words[..^1])} or {words[^1]}");
                return null;
            }

            return choices[index];
        };
    }

    /// <summary>The choice on the command line, or the default.</summary>
    public T GetValue(ParseResult parse) => parse.GetValue(this) ?? _default;
}
