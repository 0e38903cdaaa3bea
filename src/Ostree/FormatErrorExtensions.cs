namespace OstreeContainer.Ostree;

/// <summary>
/// Malformed data (repository, image, network) is reported as
/// <see cref="InvalidDataException"/> whose message names the object and the field, e.g.
/// <c>dirtree 6e340b9c…: files[2].name: contains '/'</c>. This adds context as an error
/// crosses a layer, so the final message reads outermost first.
/// </summary>
public static class FormatErrorExtensions
{
    /// <summary>Returns a new error with <paramref name="context"/> prefixed to the message.</summary>
    public static InvalidDataException WithContext(this InvalidDataException error, string context)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new InvalidDataException($"{context}: {error.Message}", error);
    }
}
