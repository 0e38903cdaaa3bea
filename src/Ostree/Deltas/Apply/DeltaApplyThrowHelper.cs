using System.Diagnostics.CodeAnalysis;

namespace OstreeContainer.Ostree.Deltas.Apply;

/// <summary>Cold throw paths of delta application; each message names what was wrong.</summary>
internal static class DeltaApplyThrowHelper
{
    [DoesNotReturn]
    public static void Invalid(string message) => throw new InvalidDataException(message);

    [DoesNotReturn]
    public static T Invalid<T>(string message) => throw new InvalidDataException(message);
}
