using System.Text.Encodings.Web;
using System.Text.Json;

namespace OstreeContainer.Cli;

/// <summary>How verbs print JSON (<c>inspect --json</c>, <c>pull --progress json</c>).</summary>
internal static class CliJson
{
    // Labels and messages hold '+' (versions such as 1.0+build), '<', '>' and '&'. The output
    // is read by people and JSON tools, never pasted into HTML, so only what JSON itself
    // requires is escaped: '+' prints as '+', not "\u002B".
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>One document, indented.</summary>
    public static readonly JsonSerializerOptions Document = new() { WriteIndented = true, Encoder = Encoder };

    /// <summary>One JSON value per line.</summary>
    public static readonly JsonSerializerOptions Lines = new() { Encoder = Encoder };
}
