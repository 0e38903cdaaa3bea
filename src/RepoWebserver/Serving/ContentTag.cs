namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>
/// Strong ETags for bytes the server builds in memory (config, generated summary): equal
/// bytes give equal tags, across restarts and replicas too. A non-cryptographic hash on
/// purpose: System.Security.Cryptography needs OpenSSL at run time, which the images this
/// server ships in do not have (an OS tree need not carry libssl), and a tag only has to
/// change when the bytes do.
/// </summary>
internal static class ContentTag
{
    private const ulong FnvOffsetBasis = 14695981039346656037;
    private const ulong FnvPrime = 1099511628211;

    /// <summary>A quoted strong ETag: <c>"PREFIX-LENGTH-FNV1A64"</c>.</summary>
    public static string Compute(string prefix, ReadOnlySpan<byte> bytes)
    {
        var hash = FnvOffsetBasis;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * FnvPrime;
        }

        return $"\"{prefix}-{bytes.Length:x}-{hash:x16}\"";
    }
}
