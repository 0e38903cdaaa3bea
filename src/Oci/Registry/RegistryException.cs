using System.Net;
using OstreeContainer.Errors;

namespace OstreeContainer.Oci.Registry;

/// <summary>What went wrong talking to a registry; callers branch on this, users read the message.</summary>
public enum RegistryErrorKind
{
    /// <summary>No credentials, or the registry rejected them (HTTP 401 after authenticating).</summary>
    Unauthorized,

    /// <summary>Authenticated but not allowed (HTTP 403).</summary>
    Denied,

    /// <summary>The repository, manifest or blob does not exist (HTTP 404).</summary>
    NotFound,

    /// <summary>Rate limited (HTTP 429) beyond the retry budget.</summary>
    TooManyRequests,

    /// <summary>The registry failed (HTTP 5xx) beyond the retry budget, or answered with another unexpected status.</summary>
    Server,

    /// <summary>No connection, or the connection broke or stalled beyond the retry budget.</summary>
    Unreachable,

    /// <summary>The registry broke the protocol: wrong digest, oversized or malformed answer.</summary>
    Protocol,
}

/// <summary>
/// A registry operation failed. The message is one line naming the registry, repository and
/// problem; it never holds credentials, tokens or signed URL queries.
/// </summary>
public class RegistryException : OstreeContainerException
{
    /// <summary>Creates an error of <paramref name="kind"/>.</summary>
    public RegistryException(RegistryErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    /// <summary>Creates an error (for serialisers and analyzers; prefer the kind-taking constructor).</summary>
    public RegistryException()
        : this(RegistryErrorKind.Server, "registry error")
    {
    }

    /// <summary>Creates an error (prefer the kind-taking constructor).</summary>
    public RegistryException(string message)
        : this(RegistryErrorKind.Server, message)
    {
    }

    /// <summary>Creates an error (prefer the kind-taking constructor).</summary>
    public RegistryException(string message, Exception innerException)
        : this(RegistryErrorKind.Server, message, innerException)
    {
    }

    /// <summary>The class of failure.</summary>
    public RegistryErrorKind Kind { get; }

    /// <summary>The HTTP status that caused it, when there was one.</summary>
    public HttpStatusCode? StatusCode { get; init; }

    /// <summary>The first distribution-spec error code from the body (<c>MANIFEST_UNKNOWN</c>…), when given.</summary>
    public string? ErrorCode { get; init; }

    // Set by the client: whether another attempt may succeed, and how long the registry asked us to wait.
    internal bool IsTransient { get; init; }

    internal TimeSpan? RetryAfter { get; init; }
}
