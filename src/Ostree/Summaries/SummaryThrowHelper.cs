using System.Diagnostics.CodeAnalysis;
using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>Cold throw paths for summary, superblock and delta-index parsing; every message starts with the field.</summary>
internal static class SummaryThrowHelper
{
    [DoesNotReturn]
    public static void InvalidField(string field, string message) =>
        throw new InvalidDataException($"{field}: {message}");

    [DoesNotReturn]
    public static T InvalidField<T>(string field, string message) =>
        throw new InvalidDataException($"{field}: {message}");

    [DoesNotReturn]
    public static T WrongType<T>(string field, GVariantType expected, GVariantType actual) =>
        throw new InvalidDataException($"{field}: has type '{actual}', expected '{expected}'");

    /// <summary>Runs <paramref name="parse"/>, prefixing any format error with <paramref name="field"/>.</summary>
    public static T WithField<T>(string field, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext(field);
        }
    }
}
