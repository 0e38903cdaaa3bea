namespace OstreeContainer.Oci.Registry;

/// <summary>
/// One repository on one registry, the credentials for it and the token scopes an operation
/// needs. Every operation builds one and names it in its messages (<see cref="Display"/>).
/// </summary>
internal sealed record RegistryScope(string Host, string Registry, string Repository, RegistryCredentials? Credentials, IReadOnlyList<string> Scopes)
{
    /// <summary><c>registry/repository</c>, as messages name it.</summary>
    public string Display => $"{Registry}/{Repository}";

    /// <summary>
    /// The scope of an operation on <paramref name="image"/>: pull, or pull and push, plus an
    /// <paramref name="extra"/> token scope (a mount's source repository).
    /// </summary>
    public static RegistryScope For(
        ImageReference image, bool push, string? extra, Func<ImageReference, RegistryCredentials?> credentials)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Transport != ImageTransport.Registry || image.ApiHost is null || image.Repository is null)
        {
            throw new ArgumentException($"'{image}' is not a registry image", nameof(image));
        }

        // docker token spec: "repository:NAME:ACTIONS".
        List<string> scopes = [$"repository:{image.Repository}:{(push ? "pull,push" : "pull")}"];
        if (extra is not null)
        {
            scopes.Add(extra);
        }

        return new RegistryScope(image.ApiHost, image.Registry!, image.Repository, credentials(image), scopes);
    }

    // distribution-spec "Endpoints": every path the client requests, relative to the host's base URI.

    /// <summary><c>/v2/NAME/manifests/REFERENCE</c> (a tag or a digest).</summary>
    public Uri ManifestUri(Uri baseUri, string reference) =>
        new(baseUri, $"/v2/{Repository}/manifests/{Uri.EscapeDataString(reference)}");

    /// <summary><c>/v2/NAME/blobs/DIGEST</c>.</summary>
    public Uri BlobUri(Uri baseUri, Digest digest) =>
        new(baseUri, $"/v2/{Repository}/blobs/{digest}");

    /// <summary><c>/v2/NAME/blobs/uploads/</c>: a POST opens an upload session.</summary>
    public Uri UploadsUri(Uri baseUri) =>
        new(baseUri, $"/v2/{Repository}/blobs/uploads/");

    /// <summary><c>/v2/NAME/blobs/uploads/?mount=DIGEST&amp;from=OTHER</c>: a POST links a blob from another repository.</summary>
    public Uri MountUri(Uri baseUri, Digest digest, string fromRepository) =>
        new(baseUri, $"/v2/{Repository}/blobs/uploads/?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(fromRepository)}");

    /// <summary>What <see cref="AuthHandler"/> needs to authenticate a request to <paramref name="baseUri"/>.</summary>
    public AuthTarget Target(Uri baseUri, IReadOnlyList<string>? scopes = null) =>
        new(baseUri.Authority, Repository, Credentials, scopes ?? Scopes);
}
