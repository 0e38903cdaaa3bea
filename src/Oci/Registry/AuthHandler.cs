using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// Answers registry auth challenges (docker token spec, distribution-spec "Authentication"):
/// remembers each registry's challenge, fetches bearer tokens from its realm, caches them
/// per scope until they expire, attaches them to later requests, and resends a request
/// once after a 401 with a fresh body. Credentials go only to the registry that owns them
/// and to the token realm it names, and never over plain HTTP unless TLS checks are off.
/// </summary>
internal sealed class AuthHandler : DelegatingHandler
{
    /// <summary>Largest token response read into memory.</summary>
    public const int MaxTokenResponseBytes = 1024 * 1024;

    // Token spec: "expires_in … If omitted, a default of 60 seconds should be assumed."
    private static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromSeconds(60);

    private readonly RegistryClientOptions _options;
    private readonly ConcurrentDictionary<string, AuthChallenge> _challenges = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset RefreshAt)> _tokens = new(StringComparer.Ordinal);

    public AuthHandler(RegistryClientOptions options, HttpMessageHandler inner)
        : base(inner)
    {
        _options = options;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Options.TryGetValue(RegistryRequest.Target, out var target)
            || !string.Equals(request.RequestUri?.Authority, target.Authority, StringComparison.OrdinalIgnoreCase))
        {
            // Not a request to the registry whose credentials we hold (e.g. a storage redirect).
            request.Headers.Authorization = null;
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        if (_challenges.TryGetValue(target.Authority, out var known))
        {
            request.Headers.Authorization = await AuthorizeAsync(target, known, refresh: false, cancellationToken).ConfigureAwait(false);
        }

        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized
            || AuthChallenge.Select(response.Headers.WwwAuthenticate) is not { } challenge)
        {
            return response;
        }

        _challenges[target.Authority] = challenge;
        var authorization = await AuthorizeAsync(target, challenge, refresh: true, cancellationToken).ConfigureAwait(false);
        if (authorization is null)
        {
            return response;
        }

        if (request.Content is not null)
        {
            if (!request.Options.TryGetValue(RegistryRequest.ContentFactory, out var factory))
            {
                return response;
            }

            // The first body was (partly) consumed; never replay it.
            request.Content.Dispose();
            request.Content = factory();
        }

        response.Dispose();
        request.Headers.Authorization = authorization;
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AuthenticationHeaderValue?> AuthorizeAsync(AuthTarget target, AuthChallenge challenge, bool refresh, CancellationToken cancellationToken)
    {
        if (challenge.IsBasic)
        {
            return target.Credentials is { } basic ? BasicHeader(basic) : null;
        }

        if (!challenge.IsBearer)
        {
            return null;
        }

        var scopes = new SortedSet<string>(target.Scopes, StringComparer.Ordinal);
        if (challenge.Scope is { Length: > 0 } asked)
        {
            foreach (var scope in asked.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                scopes.Add(scope);
            }
        }

        var key = string.Join('\n', challenge.Realm, challenge.Service, target.Credentials?.Username, string.Join(' ', scopes));
        var now = _options.TimeProvider.GetUtcNow();
        if (!refresh && _tokens.TryGetValue(key, out var cached) && now < cached.RefreshAt)
        {
            return new AuthenticationHeaderValue("Bearer", cached.Token);
        }

        var (token, lifetime) = await FetchTokenAsync(target, challenge, scopes, cancellationToken).ConfigureAwait(false);

        // Refresh a little early so a token does not expire between attach and arrival.
        var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(10).Ticks, lifetime.Ticks / 10));
        _tokens[key] = (token, now + lifetime - margin);
        return new AuthenticationHeaderValue("Bearer", token);
    }

    private async Task<(string Token, TimeSpan Lifetime)> FetchTokenAsync(
        AuthTarget target, AuthChallenge challenge, IEnumerable<string> scopes, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(challenge.Realm, UriKind.Absolute, out var realm) || realm.Scheme is not ("https" or "http"))
        {
            throw new RegistryException(RegistryErrorKind.Protocol, $"{target.Authority}: bearer challenge has no usable realm URL");
        }

        if (realm.Scheme == "http" && _options.TlsVerify && target.Credentials is not null)
        {
            throw new RegistryException(
                RegistryErrorKind.Protocol,
                $"{target.Authority}: token realm {RegistryRequest.Redact(realm)} is plain HTTP; refusing to send credentials (use TLS or disable TLS verification)");
        }

        var query = new StringBuilder(realm.Query.Length == 0 ? "?" : realm.Query + "&");
        if (challenge.Service is { Length: > 0 } service)
        {
            query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        }

        foreach (var scope in scopes)
        {
            query.Append("scope=").Append(Uri.EscapeDataString(scope)).Append('&');
        }

        var uri = new UriBuilder(realm) { Query = query.ToString(0, query.Length - 1).TrimStart('?') }.Uri;
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (target.Credentials is { } credentials)
        {
            request.Headers.Authorization = BasicHeader(credentials);
        }

        using var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new RegistryException(
                RegistryErrorKind.Unauthorized,
                target.Credentials is null
                    ? $"{target.DisplayName}: the token service {realm.Authority} refused anonymous access (pass --creds or use an auth file)"
                    : $"authentication failed for {target.Authority} (check --creds or the auth file)")
            {
                StatusCode = response.StatusCode,
            };
        }

        if (!response.IsSuccessStatusCode)
        {
            var transient = (int)response.StatusCode is 429 or >= 500;
            throw new RegistryException(
                (int)response.StatusCode == 429 ? RegistryErrorKind.TooManyRequests : RegistryErrorKind.Server,
                $"{target.DisplayName}: token service {realm.Authority} answered HTTP {(int)response.StatusCode}")
            {
                StatusCode = response.StatusCode,
                IsTransient = transient,
                RetryAfter = RetryPolicy.RetryAfter(response, _options.TimeProvider),
            };
        }

        var body = await BoundedBody.ReadAsync(response, MaxTokenResponseBytes, "token response", cancellationToken).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            string? token = null;
            foreach (var name in (ReadOnlySpan<string>)["token", "access_token"])
            {
                if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } found)
                {
                    token = found;
                    break;
                }
            }

            var lifetime = root.TryGetProperty("expires_in", out var expires) && expires.ValueKind == JsonValueKind.Number
                && expires.TryGetInt32(out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds)
                : DefaultTokenLifetime;
            return token is null
                ? throw new RegistryException(RegistryErrorKind.Protocol, $"{target.DisplayName}: token service {realm.Authority} sent no token")
                : (token, lifetime);
        }
        catch (JsonException e)
        {
            throw new RegistryException(RegistryErrorKind.Protocol, $"{target.DisplayName}: token service {realm.Authority} sent invalid JSON", e);
        }
    }

    private static AuthenticationHeaderValue BasicHeader(RegistryCredentials credentials) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Username}:{credentials.Password}")));
}
