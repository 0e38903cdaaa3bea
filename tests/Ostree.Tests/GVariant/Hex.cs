namespace OstreeContainer.Ostree.Tests.GVariant;

/// <summary>Hex literals for expected bytes, written with spaces as the spec's byte maps are.</summary>
internal static class Hex
{
    /// <summary>Bytes of a hex string; spaces and newlines are ignored.</summary>
    public static byte[] Bytes(string hex) =>
        Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal));

    /// <summary>Lowercase hex of <paramref name="bytes"/>, for messages.</summary>
    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);
}
