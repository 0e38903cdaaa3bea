using System.Diagnostics.CodeAnalysis;
using OstreeContainer.Errors;

namespace OstreeContainer.Oci.Layers;

/// <summary>Cold throw paths for layer writing and reading.</summary>
internal static class LayerThrowHelper
{
    [DoesNotReturn]
    public static void BadPath(string path, string why, string paramName) =>
        throw new ArgumentException($"layer path '{path}' {why}", paramName);

    [DoesNotReturn]
    public static void ContentLength(string path, long declared, string what) =>
        throw new InvalidDataException($"content of layer entry '{path}' {what} the declared {declared} bytes");

    [DoesNotReturn]
    public static void Completed() =>
        throw new InvalidOperationException("the layer is complete (or failed); no more entries can be added");

    [DoesNotReturn]
    public static void BadEntry(string? name, string field, string why) =>
        throw new InvalidDataException(name is null
            ? $"layer tar: {field} {why}"
            : $"layer tar entry '{Truncate(name)}': {field} {why}");

    [DoesNotReturn]
    public static void Truncated(string where) =>
        throw new InvalidDataException($"layer tar is truncated ({where})");

    private static string Truncate(string value) => ErrorPolicy.Excerpt(value);
}
