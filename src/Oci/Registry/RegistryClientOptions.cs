using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace OstreeContainer.Oci.Registry;

/// <summary>How a <see cref="RegistryClient"/> connects, authenticates and retries.</summary>
public sealed record RegistryClientOptions
{
    /// <summary>
    /// Verify TLS certificates and require HTTPS (the default). False behaves like podman's
    /// <c>--tls-verify=false</c>: HTTPS without certificate checks, falling back to plain HTTP.
    /// </summary>
    public bool TlsVerify { get; init; } = true;

    /// <summary>Explicit credentials (<c>--creds</c>); they win over any auth file.</summary>
    public RegistryCredentials? Credentials { get; init; }

    /// <summary>An auth file (<c>--authfile</c>); null searches the podman/skopeo default locations.</summary>
    public string? AuthFile { get; init; }

    /// <summary>Environment for the auth-file search; null reads the process environment.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Clock for backoff, token expiry and idle timeouts.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Retries of one request after a transient fault (429, 5xx, broken or stalled connection).</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>First backoff delay; it doubles per retry up to <see cref="MaxBackoff"/>, with jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest backoff delay between retries.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait a <c>Retry-After</c> header may impose before we give up instead.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A connection that moves no bytes for this long counts as a transient fault.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Blob upload chunk size in bytes; 0 uploads each blob with one PUT (monolithic).</summary>
    public long ChunkSize { get; init; }

    /// <summary>
    /// Where the client logs notable events (retries, fallbacks), category
    /// <see cref="RegistryClient"/>; never credentials or URL queries. No logging by default.
    /// </summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}
