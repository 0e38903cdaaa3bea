namespace OstreeContainer.Errors;

/// <summary>
/// Which exceptions mean "bad input or environment" and how they read. The CLI prints these
/// as one line and exits 1; the puller adds the image's name to them. Anything else is a bug
/// and keeps its stack trace.
/// </summary>
public static class ErrorPolicy
{
    /// <summary>
    /// The longest excerpt of foreign text (a registry's error body, a name from a tar entry,
    /// a value that failed to parse) quoted in an error message; longer text is cut and ends
    /// with "…".
    /// </summary>
    public const int MaxExcerptLength = 200;

    /// <summary>
    /// Whether <paramref name="e"/> is a failure of input or environment rather than a bug:
    /// a domain exception (<see cref="OstreeContainerException"/>: user input, registry,
    /// signature, pull), bad data (<see cref="InvalidDataException"/>), the file system
    /// (<see cref="IOException"/>, <see cref="UnauthorizedAccessException"/>), the network
    /// (<see cref="HttpRequestException"/>, <see cref="TimeoutException"/>), or the BCL's
    /// types for a named thing that is absent (<see cref="KeyNotFoundException"/>: a ref, a
    /// tag, a metadata key), text that does not parse (<see cref="FormatException"/>: an image
    /// name, a platform) and a repository mode or image kind not handled
    /// (<see cref="NotSupportedException"/>).
    /// </summary>
    /// <remarks>
    /// <see cref="ArgumentException"/> is not here: it means a caller passed what the API
    /// forbids, which is a bug; input a user typed is rejected with <see cref="UserInputException"/>.
    /// </remarks>
    public static bool IsUserFacing(Exception e) =>
        e is OstreeContainerException
            or InvalidDataException or IOException or UnauthorizedAccessException
            or HttpRequestException or TimeoutException
            or KeyNotFoundException or FormatException or NotSupportedException;

    /// <summary>The message of <paramref name="e"/> on one line.</summary>
    public static string Describe(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Message.ReplaceLineEndings(" ");
    }

    /// <summary>
    /// <paramref name="text"/> on one line, cut to <see cref="MaxExcerptLength"/> characters
    /// (marked with "…"), for quoting foreign text in a message.
    /// </summary>
    public static string Excerpt(string? text)
    {
        var line = (text ?? "").ReplaceLineEndings(" ").Trim();
        return line.Length <= MaxExcerptLength ? line : string.Concat(line.AsSpan(0, MaxExcerptLength), "…");
    }
}
