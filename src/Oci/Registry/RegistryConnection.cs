using System.Collections.Concurrent;
using System.Net;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// What every registry operation shares: the handler pipeline
/// (<see cref="HttpClient"/> → <see cref="AuthHandler"/> → transport), the scheme each host
/// speaks (<see cref="SchemeProbe"/>), the retry loop (<see cref="RetryPolicy"/>) and the
/// credentials found per repository. <see cref="PullOperations"/> and
/// <see cref="PushOperations"/> build their requests on it.
/// </summary>
internal sealed class RegistryConnection : IDisposable
{
    private const string UserAgent = "ostree-container/1.0";

    // Connections are recycled now and then so DNS changes (a registry behind a load balancer) are seen.
    private static readonly TimeSpan PooledConnectionLifetime = TimeSpan.FromMinutes(5);

    private readonly HttpClient _http;
    private readonly SchemeProbe _schemes;
    private readonly RetryPolicy _retry;
    private readonly ConcurrentDictionary<string, RegistryCredentials?> _credentials = new(StringComparer.Ordinal);

    public RegistryConnection(RegistryClientOptions options, HttpMessageHandler? innerHandler)
    {
        Options = options;
        _http = new HttpClient(new AuthHandler(options, innerHandler ?? CreateTransport(options)), disposeHandler: true)
        {
            // Stalls are caught by the idle watchdog; a total timeout would cut off large blobs.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
        _schemes = new SchemeProbe(_http, options);
        _retry = new RetryPolicy(options);
    }

    public RegistryClientOptions Options { get; }

    /// <summary>The scope of an operation on <paramref name="image"/>, with the credentials that apply to it.</summary>
    public RegistryScope Scope(ImageReference image, bool push, string? extra = null) =>
        RegistryScope.For(image, push, extra, CredentialsFor);

    /// <summary>
    /// Runs one operation under the retry policy. Each attempt gets the host's base URI and a
    /// fresh watchdog, and must build all its requests (and open all its bodies) anew.
    /// </summary>
    public Task<T> RunAsync<T>(string what, RegistryScope scope, Func<Uri, IdleWatchdog, Task<T>> attempt, CancellationToken cancellationToken) =>
        _retry.RunAsync(what, scope, async watchdog =>
        {
            var baseUri = await _schemes.BaseUriAsync(scope, what, cancellationToken).ConfigureAwait(false);
            return await attempt(baseUri, watchdog).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Sends a request and returns once the headers arrived; the body is read by the caller.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, IdleWatchdog watchdog)
    {
        watchdog.Kick();
        return _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, watchdog.Token);
    }

    /// <inheritdoc cref="RegistryErrors.EnsureSuccessAsync"/>
    public Task EnsureSuccessAsync(HttpResponseMessage response, string what, RegistryScope scope, IdleWatchdog watchdog) =>
        RegistryErrors.EnsureSuccessAsync(response, what, scope, Options.TimeProvider, watchdog);

    /// <summary>
    /// Throws when the registry reports (<c>Docker-Content-Digest</c>) a different digest of the
    /// same algorithm than we computed; a missing or other-algorithm header proves nothing either way.
    /// </summary>
    public static void CheckDigestHeader(HttpResponseMessage response, Digest expected, string what, RegistryScope scope)
    {
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values)
            && Digest.TryParse(values.FirstOrDefault(), out var reported)
            && reported.Algorithm == expected.Algorithm
            && reported != expected)
        {
            throw RegistryErrors.Protocol(what, scope, $"the registry reports digest {reported}, expected {expected}");
        }
    }

    /// <summary>The response's <c>Location</c>, made absolute.</summary>
    public static Uri Location(HttpResponseMessage response)
    {
        var location = response.Headers.Location
            ?? throw new InvalidDataException($"HTTP {(int)response.StatusCode} without a Location header");

        // Location may be relative to the request (distribution-spec allows both forms).
        return location.IsAbsoluteUri ? location : new Uri(response.RequestMessage!.RequestUri!, location);
    }

    /// <summary>A digest short enough for a message.</summary>
    public static string Short(Digest digest) =>
        digest.IsEmpty ? "(empty digest)" : $"{digest.Algorithm}:{digest.Hex[..12]}";

    /// <summary>Releases the connections.</summary>
    public void Dispose() => _http.Dispose();

    private static SocketsHttpHandler CreateTransport(RegistryClientOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // Redirects are followed by the client so credentials never follow them to another host.
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.IdleTimeout,
            PooledConnectionLifetime = PooledConnectionLifetime,
        };
        if (!options.TlsVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }

        return handler;
    }

    private RegistryCredentials? CredentialsFor(ImageReference image) =>
        Options.Credentials ?? _credentials.GetOrAdd(
            $"{image.Registry}/{image.Repository}",
            _ => AuthFile.Find(image.Registry!, image.Repository!, Options.AuthFile, Options.Environment));
}
