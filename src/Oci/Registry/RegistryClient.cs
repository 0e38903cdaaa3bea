using OstreeContainer.Oci.Images;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// A client for the OCI Distribution API v2 (distribution-spec spec.md): blobs and manifests
/// in, blobs and manifests out. Requests flow through <see cref="AuthHandler"/> (challenges,
/// tokens) into the transport; every operation retries transient faults (429, 502/503/504
/// and 500, broken or stalled connections) with capped exponential backoff, building each
/// attempt anew so a request body is reopened, never replayed.
/// </summary>
/// <remarks>
/// Trust: <see cref="GetManifestAsync"/> verifies the manifest digest;
/// <see cref="GetBlobUnverifiedAsync"/> does not verify anything — callers hash what they read.
/// One client may run many operations at once; it shares connections and tokens between them.
/// This class is a facade: reading is in <see cref="PullOperations"/>, writing in
/// <see cref="PushOperations"/> (the folder's README maps every concern to its file).
/// </remarks>
public sealed class RegistryClient : IDisposable
{
    /// <summary>Largest error body read to build a message.</summary>
    public const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary>Most redirects followed for one blob.</summary>
    public const int MaxRedirects = 10;

    private readonly RegistryConnection _connection;
    private readonly PullOperations _pull;
    private readonly PushOperations _push;

    /// <summary>Creates a client.</summary>
    /// <param name="options">How to connect, authenticate and retry.</param>
    /// <param name="innerHandler">
    /// The transport (tests pass a fault injector or a counter); null uses a
    /// <see cref="SocketsHttpHandler"/> set up from <paramref name="options"/>. The client disposes it.
    /// It must not follow redirects itself, or credentials could follow them.
    /// </param>
    public RegistryClient(RegistryClientOptions options, HttpMessageHandler? innerHandler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxRetries < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxRetries must not be negative");
        }

        _connection = new RegistryConnection(options, innerHandler);
        _pull = new PullOperations(_connection);
        _push = new PushOperations(_connection);
    }

    /// <summary>Checks that the registry answers the API (<c>GET /v2/</c>) and accepts our credentials.</summary>
    public Task PingAsync(ImageReference image, CancellationToken cancellationToken = default)
    {
        var scope = _connection.Scope(image, push: false);
        return _connection.RunAsync("contacting", scope, async (baseUri, watchdog) =>
        {
            using var request = RegistryRequest.Create(HttpMethod.Get, new Uri(baseUri, "/v2/"), scope.Target(baseUri, []));
            using var response = await _connection.SendAsync(request, watchdog).ConfigureAwait(false);
            await _connection.EnsureSuccessAsync(response, "contacting", scope, watchdog).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>True when the repository holds the blob (<c>HEAD /v2/NAME/blobs/DIGEST</c>).</summary>
    public Task<bool> BlobExistsAsync(ImageReference image, Digest digest, CancellationToken cancellationToken = default) =>
        _push.BlobExistsAsync(image, digest, cancellationToken);

    /// <summary>
    /// Asks the registry to link a blob from <paramref name="fromRepository"/> on the same
    /// registry (cross-repository mount); true when it did, false when the registry declined
    /// (the caller then uploads).
    /// </summary>
    public Task<bool> TryMountBlobAsync(ImageReference image, Digest digest, string fromRepository, CancellationToken cancellationToken = default) =>
        _push.TryMountBlobAsync(image, digest, fromRepository, cancellationToken);

    /// <summary>
    /// Uploads a blob unless the repository already has it: one <c>PUT</c> after the
    /// <c>POST</c> when <see cref="RegistryClientOptions.ChunkSize"/> is 0, else <c>PATCH</c>
    /// chunks with <c>Content-Range</c> and a closing <c>PUT ?digest=</c>.
    /// <paramref name="openContent"/> is called once per attempt for a fresh stream at offset 0.
    /// </summary>
    public Task PushBlobAsync(ImageReference image, Descriptor blob, Func<Stream> openContent, CancellationToken cancellationToken = default) =>
        _push.PushBlobAsync(image, blob, openContent, cancellationToken);

    /// <summary>
    /// Uploads a manifest or index under a tag or digest with <paramref name="mediaType"/> as
    /// its exact <c>Content-Type</c>; returns its digest after checking the registry computed the same.
    /// </summary>
    public Task<Digest> PushManifestAsync(
        ImageReference image, string reference, ReadOnlyMemory<byte> manifest, string mediaType, CancellationToken cancellationToken = default) =>
        _push.PushManifestAsync(image, reference, manifest, mediaType, cancellationToken);

    /// <summary>
    /// Fetches a manifest or index (OCI or Docker), keeping the exact bytes. When
    /// <paramref name="reference"/> is a digest the bytes must hash to it.
    /// </summary>
    /// <exception cref="RegistryException">Kind <see cref="RegistryErrorKind.Protocol"/> for a digest mismatch or an oversized or untyped document.</exception>
    public Task<ReceivedManifest> GetManifestAsync(ImageReference image, string reference, CancellationToken cancellationToken = default) =>
        _pull.GetManifestAsync(image, reference, cancellationToken);

    /// <summary>
    /// Opens a blob for reading from <paramref name="offset"/> (a <c>Range</c> request when
    /// positive). Redirects to other hosts (blob storage) are followed without our credentials.
    /// Nothing is verified: the caller hashes the bytes. Reads that stall for the idle timeout
    /// throw <see cref="TimeoutException"/>; a caller resumes with a new offset.
    /// </summary>
    public Task<Stream> GetBlobUnverifiedAsync(ImageReference image, Digest digest, long offset, CancellationToken cancellationToken = default) =>
        _pull.GetBlobUnverifiedAsync(image, digest, offset, cancellationToken);

    /// <summary>Releases the connections.</summary>
    public void Dispose() => _connection.Dispose();
}
