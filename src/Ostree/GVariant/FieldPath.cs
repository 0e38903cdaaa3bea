namespace OstreeContainer.Ostree.GVariant;

/// <summary>
/// Builds error messages that name the failing field as a path, <c>files[2].name: …</c>.
/// The innermost code throws with the detail; each enclosing container prepends its own
/// segment (<c>name</c>, <c>[2]</c>, <c>&lt;as&gt;</c>) as the exception unwinds, so the
/// happy path allocates no path strings. The path and detail travel in
/// <see cref="Exception.Data"/>, so segments join without a ": " between them.
/// </summary>
internal static class FieldPath
{
    private const string PathKey = "OstreeContainer.FieldPath";
    private const string DetailKey = "OstreeContainer.FieldPath.Detail";

    /// <summary>An error at <paramref name="path"/>, which enclosing containers may extend.</summary>
    public static InvalidDataException Error(string path, string detail) => Create(path, detail, inner: null);

    /// <summary>
    /// <paramref name="error"/> seen from one level up: <paramref name="segment"/> is the
    /// member name or <c>[index]</c> under which the failing value sits.
    /// </summary>
    public static InvalidDataException Prefix(InvalidDataException error, string segment)
    {
        if (error.Data[PathKey] is string inner && error.Data[DetailKey] is string detail)
        {
            // "[2]" and "<as>" attach directly; a member name follows a dot.
            var joined = inner.StartsWith('[') || inner.StartsWith('<') ? segment + inner : segment + "." + inner;
            return Create(joined, detail, error);
        }

        return Create(segment, error.Message, error);
    }

    private static InvalidDataException Create(string path, string detail, Exception? inner)
    {
        var error = new InvalidDataException($"{path}: {detail}", inner);
        error.Data[PathKey] = path;
        error.Data[DetailKey] = detail;
        return error;
    }
}
