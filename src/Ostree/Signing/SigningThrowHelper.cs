using System.Diagnostics.CodeAnalysis;

namespace OstreeContainer.Ostree.Signing;

/// <summary>Cold paths for malformed key material.</summary>
internal static class SigningThrowHelper
{
    [DoesNotReturn]
    public static void ThrowInvalidKey(string what, string problem) =>
        throw new InvalidDataException($"{what}: {problem}");

    /// <summary>Strict standard base64 (ostree keys are never URL-safe or unpadded).</summary>
    public static byte[] DecodeBase64(string text, string what)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            ThrowInvalidKey(what, "empty");
        }

        var bytes = new byte[trimmed.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(trimmed, bytes, out var written))
        {
            ThrowInvalidKey(what, "not valid base64");
        }

        return bytes[..written];
    }
}
