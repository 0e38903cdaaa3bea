namespace OstreeContainer.Oci.Registry;

/// <summary>
/// Reads a whole response body into memory under a named cap (<see cref="RegistryClient.MaxErrorBodyBytes"/>,
/// <see cref="Images.OciJson.MaxDocumentBytes"/>, <see cref="AuthHandler.MaxTokenResponseBytes"/>).
/// Every buffered read of remote data goes through here; blobs are streamed, never buffered.
/// </summary>
internal static class BoundedBody
{
    private const int ReadChunkBytes = 16 * 1024;

    /// <summary>Reads the body of <paramref name="response"/>, at most <paramref name="cap"/> bytes.</summary>
    /// <exception cref="InvalidDataException">The body is (or declares itself) longer than the cap.</exception>
    public static async Task<byte[]> ReadAsync(HttpResponseMessage response, int cap, string what, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAsync(stream, response.Content.Headers.ContentLength, cap, what, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads <paramref name="stream"/> to its end (and disposes it), at most <paramref name="cap"/>
    /// bytes. A declared length over the cap fails before any byte is read, an undeclared one
    /// as soon as the cap is passed.
    /// </summary>
    public static async Task<byte[]> ReadAsync(Stream stream, long? declaredLength, int cap, string what, CancellationToken cancellationToken)
    {
        await using (stream.ConfigureAwait(false))
        {
            if (declaredLength > cap)
            {
                throw new InvalidDataException($"the {what} is {declaredLength} bytes, more than the {cap}-byte limit");
            }

            using var buffer = new MemoryStream((int)Math.Min(cap, declaredLength ?? 4096));
            var chunk = new byte[ReadChunkBytes];
            int n;
            while ((n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + n > cap)
                {
                    throw new InvalidDataException($"the {what} is more than the {cap}-byte limit");
                }

                buffer.Write(chunk, 0, n);
            }

            return buffer.ToArray();
        }
    }
}
