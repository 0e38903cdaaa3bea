using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using OstreeContainer.Errors;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// Turns what went wrong into one <see cref="RegistryException"/> with a one-line message:
/// HTTP statuses and the registry's error JSON (<see cref="EnsureSuccessAsync"/>), broken,
/// stalled or refused connections (<see cref="Classify"/>) and broken protocol
/// (<see cref="Protocol"/>, <see cref="Expect"/>). It also decides what is transient; how
/// often and how long to retry is <see cref="RetryPolicy"/>'s business.
/// </summary>
/// <remarks>
/// Messages read "<c>{what} {registry/repository}: {problem}</c>" and never hold URLs with
/// queries, tokens or passwords.
/// </remarks>
internal static class RegistryErrors
{
    /// <summary>
    /// Returns when <paramref name="response"/> is a success; otherwise throws the error its
    /// status and body describe. 429 and 500/502/503/504 are transient; everything else is final.
    /// </summary>
    public static async Task EnsureSuccessAsync(
        HttpResponseMessage response, string what, RegistryScope scope, TimeProvider timeProvider, IdleWatchdog watchdog)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var status = (int)response.StatusCode;
        var (code, detail) = await ReadErrorAsync(response, watchdog).ConfigureAwait(false);
        var suffix = detail is null ? $" (HTTP {status})" : $" (HTTP {status}: {detail})";
        var (kind, problem, transient) = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized when scope.Credentials is not null =>
                (RegistryErrorKind.Unauthorized, $"authentication failed for {scope.Host} (check --creds or the auth file)", false),
            HttpStatusCode.Unauthorized =>
                (RegistryErrorKind.Unauthorized, $"authentication required by {scope.Host} (pass --creds or add it to an auth file)", false),
            HttpStatusCode.Forbidden => (RegistryErrorKind.Denied, "access denied" + suffix, false),
            HttpStatusCode.NotFound => (RegistryErrorKind.NotFound, "not found" + suffix, false),
            HttpStatusCode.TooManyRequests => (RegistryErrorKind.TooManyRequests, "too many requests" + suffix, true),
            HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout =>
                (RegistryErrorKind.Server, "registry failed" + suffix, true),
            _ => (RegistryErrorKind.Server, "unexpected answer" + suffix, false),
        };
        throw new RegistryException(kind, $"{what} {scope.Display}: {problem}")
        {
            StatusCode = response.StatusCode,
            ErrorCode = code,
            IsTransient = transient,
            RetryAfter = RetryPolicy.RetryAfter(response, timeProvider),
        };
    }

    /// <summary>
    /// The error an exception thrown during an attempt stands for, or null when it is none of
    /// ours (a caller bug such as <see cref="ArgumentException"/> surfaces unchanged).
    /// A stall, a broken connection and any transport failure except TLS are transient.
    /// </summary>
    public static RegistryException? Classify(Exception e, string what, RegistryScope scope, IdleWatchdog watchdog)
    {
        switch (e)
        {
            case RegistryException registry:
                return registry;
            case OperationCanceledException or TimeoutException when watchdog.Fired || e is TimeoutException || e.InnerException is TimeoutException:
                return new RegistryException(RegistryErrorKind.Unreachable, $"{what} {scope.Display}: no data from {scope.Host} for {watchdog.Idle.TotalSeconds:0} s", e)
                {
                    IsTransient = true,
                };
            case HttpRequestException http:
                return new RegistryException(RegistryErrorKind.Unreachable, $"{what} {scope.Display}: {Describe(http)}", e)
                {
                    IsTransient = http.HttpRequestError != HttpRequestError.SecureConnectionError,
                };
            case IOException io:
                return new RegistryException(RegistryErrorKind.Unreachable, $"{what} {scope.Display}: connection to {scope.Host} broke ({OneLine(io.Message)})", e)
                {
                    IsTransient = true,
                };
            case InvalidDataException data:
                return Protocol(what, scope, data.Message, data);
            default:
                return null;
        }
    }

    /// <summary>The first contact with a registry found nothing listening: final, since waiting would not help.</summary>
    public static RegistryException Unreachable(string what, RegistryScope scope, Uri candidate, HttpRequestException e) =>
        new(RegistryErrorKind.Unreachable, $"{what} {scope.Display}: cannot reach registry {candidate.Host}:{candidate.Port} ({Describe(e)})", e);

    /// <summary>The registry broke the protocol (a wrong digest, an oversized or malformed answer): final.</summary>
    public static RegistryException Protocol(string what, RegistryScope scope, string problem, Exception? inner = null) =>
        new(RegistryErrorKind.Protocol, $"{what} {scope.Display}: {OneLine(problem)}", inner);

    /// <summary>
    /// Throws unless the response has the one success status distribution-spec names for this
    /// step. Another 2xx means we and the registry disagree about the upload's state, and
    /// going on could tag missing content.
    /// </summary>
    public static void Expect(HttpResponseMessage response, HttpStatusCode expected, string what, RegistryScope scope)
    {
        if (response.StatusCode != expected)
        {
            throw Protocol(what, scope, $"expected HTTP {(int)expected} {expected}, got HTTP {(int)response.StatusCode}");
        }
    }

    /// <summary>Foreign text (an error body, an exception message) as one line of bounded length.</summary>
    public static string OneLine(string text) => ErrorPolicy.Excerpt(text);

    private static string Describe(HttpRequestException e)
    {
        var socket = e.InnerException as SocketException ?? e.InnerException?.InnerException as SocketException;
        return e.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => "host name not found",
            HttpRequestError.SecureConnectionError => "TLS handshake failed (for a registry without a trusted certificate use --tls-verify=false)",
            HttpRequestError.ResponseEnded => "the connection closed before the response ended",
            HttpRequestError.ConnectionError when socket is not null => $"connection failed ({socket.SocketErrorCode})",
            HttpRequestError.ConnectionError => "connection failed",
            HttpRequestError.InvalidResponse => "the response was not valid HTTP",
            _ => OneLine(e.Message),
        };
    }

    // distribution-spec "Error Codes": {"errors": [{"code": "...", "message": "...", "detail": ...}]}
    private static async Task<(string? Code, string? Detail)> ReadErrorAsync(HttpResponseMessage response, IdleWatchdog watchdog)
    {
        byte[] body;
        try
        {
            body = await BoundedBody.ReadAsync(response, RegistryClient.MaxErrorBodyBytes, "error body", watchdog.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or HttpRequestException or OperationCanceledException)
        {
            // The status alone still makes a useful message.
            return (null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("errors", out var errors)
                && errors.ValueKind == JsonValueKind.Array
                && errors.GetArrayLength() > 0
                && errors[0].ValueKind == JsonValueKind.Object)
            {
                var first = errors[0];
                var code = first.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                var message = first.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                var text = code is null ? message : message is null ? code : $"{code}: {message}";
                return (code, text is null ? null : OneLine(text));
            }
        }
        catch (JsonException)
        {
            // Not the spec's error shape (a proxy's HTML page): the status says enough.
        }

        return (null, null);
    }
}
