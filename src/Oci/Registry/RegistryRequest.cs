namespace OstreeContainer.Oci.Registry;

/// <summary>
/// Who a registry request is for: the authority whose credentials it may carry, the
/// repository (for error messages) and the token scopes it needs. Requests without a target
/// (token fetches, redirects to blob storage) are sent without any credentials.
/// </summary>
internal sealed record AuthTarget(string Authority, string Repository, RegistryCredentials? Credentials, IReadOnlyList<string> Scopes)
{
    public string DisplayName => Repository.Length == 0 ? Authority : $"{Authority}/{Repository}";
}

/// <summary>Per-request options the client hands to its handlers.</summary>
internal static class RegistryRequest
{
    public static readonly HttpRequestOptionsKey<AuthTarget> Target = new("OstreeContainer.Registry.Target");

    /// <summary>
    /// Makes a fresh body for a resend. A request body is a stream that can be read once, so a
    /// handler that resends (after a 401) must ask for a new one, never replay the old.
    /// </summary>
    public static readonly HttpRequestOptionsKey<Func<HttpContent>> ContentFactory = new("OstreeContainer.Registry.ContentFactory");

    public static HttpRequestMessage Create(HttpMethod method, Uri uri, AuthTarget? target, Func<HttpContent>? content = null)
    {
        var request = new HttpRequestMessage(method, uri);
        if (target is not null)
        {
            request.Options.Set(Target, target);
        }

        if (content is not null)
        {
            request.Content = content();
            request.Options.Set(ContentFactory, content);
        }

        return request;
    }

    /// <summary>A URI for logs and messages: the query (upload state, storage signatures) is cut off.</summary>
    public static string Redact(Uri? uri) =>
        uri is null ? "(none)"
        : string.IsNullOrEmpty(uri.Query) ? uri.GetLeftPart(UriPartial.Path)
        : uri.GetLeftPart(UriPartial.Path) + "?…";
}
