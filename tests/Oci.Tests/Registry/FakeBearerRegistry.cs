using System.Collections.Concurrent;
using System.Net;
using System.Text;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Oci.Tests.Registry;

/// <summary>
/// A fake registry that demands docker-token-spec bearer tokens, with its token realm at
/// <c>/token</c> on the same listener and blob storage on a second listener it redirects to
/// (like a registry backed by S3). It records what each endpoint received.
/// </summary>
internal sealed class FakeBearerRegistry : IDisposable
{
    private readonly LoopbackHttpServer _registry;
    private readonly LoopbackHttpServer _storage;
    private readonly RegistryCredentials? _required;
    private readonly ConcurrentDictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _tokenRequests = new();
    private readonly ConcurrentQueue<string> _registryAuthorizations = new();
    private readonly ConcurrentQueue<string?> _storageAuthorizations = new();

    public FakeBearerRegistry(RegistryCredentials? required = null, string tokenField = "token", bool requireAuth = true)
    {
        _required = required;
        TokenField = tokenField;
        RequireAuth = requireAuth;
        _registry = new LoopbackHttpServer(HandleRegistryAsync);
        _storage = new LoopbackHttpServer(HandleStorageAsync);
    }

    public string Host => _registry.Host;

    public string TokenField { get; }

    public bool RequireAuth { get; }

    /// <summary>Manifests by tag or digest: bytes and content type.</summary>
    public ConcurrentDictionary<string, (byte[] Bytes, string MediaType)> Manifests { get; } = new(StringComparer.Ordinal);

    /// <summary>Blobs by digest, served from the storage listener.</summary>
    public ConcurrentDictionary<string, byte[]> Blobs { get; } = new(StringComparer.Ordinal);

    /// <summary>Each token request as <c>QUERY | Authorization scheme or "-"</c>.</summary>
    public IReadOnlyList<string> TokenRequests => [.. _tokenRequests];

    /// <summary>The Authorization header of every registry API request (empty when absent).</summary>
    public IReadOnlyList<string> RegistryAuthorizations => [.. _registryAuthorizations];

    /// <summary>The Authorization header of every storage request (null when absent).</summary>
    public IReadOnlyList<string?> StorageAuthorizations => [.. _storageAuthorizations];

    public void Dispose()
    {
        _registry.Dispose();
        _storage.Dispose();
    }

    private async Task HandleRegistryAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var path = request.Url!.AbsolutePath;
        if (path == "/token")
        {
            await IssueTokenAsync(context);
            return;
        }

        var authorization = request.Headers["Authorization"] ?? string.Empty;
        _registryAuthorizations.Enqueue(authorization);
        var repository = path.StartsWith("/v2/", StringComparison.Ordinal) && path.Length > 4
            ? path[4..path.LastIndexOf('/', path.LastIndexOf('/') - 1)]
            : null;
        var scope = repository is null ? null : $"repository:{repository}:pull";
        if (RequireAuth && !Authorized(authorization, scope))
        {
            context.Response.StatusCode = 401;
            var challenge = $"Bearer realm=\"http://{Host}/token\",service=\"fake-registry\"";
            context.Response.AddHeader("WWW-Authenticate", scope is null ? challenge : challenge + $",scope=\"{scope}\"");
            await WriteAsync(context.Response, """{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}""");
            return;
        }

        if (path == "/v2/")
        {
            await WriteAsync(context.Response, "{}");
            return;
        }

        var reference = Uri.UnescapeDataString(path[(path.LastIndexOf('/') + 1)..]);
        if (path.Contains("/manifests/", StringComparison.Ordinal) && Manifests.TryGetValue(reference, out var manifest))
        {
            context.Response.ContentType = manifest.MediaType;
            await WriteAsync(context.Response, manifest.Bytes);
            return;
        }

        if (path.Contains("/blobs/", StringComparison.Ordinal) && Blobs.ContainsKey(reference))
        {
            context.Response.StatusCode = 307;
            context.Response.AddHeader("Location", $"http://{_storage.Host}/data/{reference}?X-Signature=secret");
            context.Response.Close();
            return;
        }

        context.Response.StatusCode = 404;
        await WriteAsync(context.Response, """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}""");
    }

    private async Task IssueTokenAsync(HttpListenerContext context)
    {
        var authorization = context.Request.Headers["Authorization"];
        _tokenRequests.Enqueue($"{context.Request.Url!.Query} | {authorization?.Split(' ')[0] ?? "-"}");
        var expected = _required is null
            ? null
            : "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_required.Username}:{_required.Password}"));
        if (expected is not null && authorization != expected)
        {
            context.Response.StatusCode = 401;
            await WriteAsync(context.Response, """{"details":"incorrect username or password"}""");
            return;
        }

        var token = "tok-" + Guid.NewGuid().ToString("N");
        _tokens[token] = Uri.UnescapeDataString(context.Request.Url.Query);
        await WriteAsync(context.Response, $$"""{"{{TokenField}}":"{{token}}","expires_in":300}""");
    }

    private bool Authorized(string authorization, string? scope)
    {
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal)
            || !_tokens.TryGetValue(authorization["Bearer ".Length..], out var granted))
        {
            return false;
        }

        return scope is null || granted.Contains("scope=" + scope, StringComparison.Ordinal);
    }

    private async Task HandleStorageAsync(HttpListenerContext context)
    {
        _storageAuthorizations.Enqueue(context.Request.Headers["Authorization"]);
        var digest = context.Request.Url!.AbsolutePath["/data/".Length..];
        if (!Blobs.TryGetValue(digest, out var bytes))
        {
            context.Response.StatusCode = 404;
            context.Response.Close();
            return;
        }

        await WriteAsync(context.Response, bytes);
    }

    private static Task WriteAsync(HttpListenerResponse response, string text) => WriteAsync(response, Encoding.UTF8.GetBytes(text));

    private static async Task WriteAsync(HttpListenerResponse response, byte[] bytes)
    {
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
        response.Close();
    }
}
