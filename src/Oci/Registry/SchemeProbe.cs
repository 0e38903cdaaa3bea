using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// Finds, once per registry host, the base URI to talk to: <c>https://</c> always; with
/// <see cref="RegistryClientOptions.TlsVerify"/> off, <c>https://</c> without certificate
/// checks first and plain <c>http://</c> if TLS fails, resets or stalls (podman's
/// <c>--tls-verify=false</c>). Plain HTTP is never tried unless TLS verification is off.
/// </summary>
internal sealed class SchemeProbe(HttpClient http, RegistryClientOptions options)
{
    // Logged under the client's category: these are its events.
    private readonly ILogger _logger = options.LoggerFactory.CreateLogger<RegistryClient>();

    private readonly ConcurrentDictionary<string, Uri> _baseUris = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The base URI for <paramref name="scope"/>'s host, probing <c>GET /v2/</c> on first contact.
    /// Any answer (even 401) settles the scheme; a refused connection fails at once with
    /// <see cref="RegistryErrorKind.Unreachable"/>, other transport failures surface to the retry loop.
    /// </summary>
    public async Task<Uri> BaseUriAsync(RegistryScope scope, string what, CancellationToken cancellationToken)
    {
        if (_baseUris.TryGetValue(scope.Host, out var known))
        {
            return known;
        }

        string[] schemes = options.TlsVerify ? ["https"] : ["https", "http"];
        for (var i = 0; ; i++)
        {
            var candidate = new Uri($"{schemes[i]}://{scope.Host}/");
            using var probe = new IdleWatchdog(options.IdleTimeout, options.TimeProvider, cancellationToken);
            try
            {
                using var request = RegistryRequest.Create(HttpMethod.Get, new Uri(candidate, "/v2/"), target: null);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, probe.Token).ConfigureAwait(false);
                if (i > 0)
                {
                    Log.PlainHttp(_logger, scope.Host);
                }

                return _baseUris.GetOrAdd(scope.Host, candidate);
            }
            catch (Exception e) when (i + 1 < schemes.Length && !cancellationToken.IsCancellationRequested
                && e is HttpRequestException or OperationCanceledException)
            {
                // A plain-HTTP server may reject the TLS hello, reset, or never answer it.
                continue;
            }
            catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.ConnectionError)
            {
                // First contact: nothing listens, so waiting and retrying would only delay the answer.
                throw RegistryErrors.Unreachable(what, scope, candidate, e);
            }
        }
    }
}
