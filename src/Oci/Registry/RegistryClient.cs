using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
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
/// </remarks>
public sealed class RegistryClient : IDisposable
{
    /// <summary>Largest error body read to build a message.</summary>
    public const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary>Most redirects followed for one blob.</summary>
    public const int MaxRedirects = 10;

    private static readonly string[] ManifestMediaTypes =
        [MediaTypes.OciManifest, MediaTypes.OciIndex, MediaTypes.DockerManifest, MediaTypes.DockerManifestList];

    private readonly RegistryClientOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<string, Uri> _baseUris = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, RegistryCredentials?> _credentials = new(StringComparer.Ordinal);

    /// <summary>Creates a client.</summary>
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

        _options = options;
        _logger = options.LoggerFactory.CreateLogger<RegistryClient>();
        _http = new HttpClient(new AuthHandler(options, innerHandler ?? CreateTransport(options)), disposeHandler: true)
        {
            // Stalls are caught by the idle watchdog; a total timeout would cut off large blobs.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("ostree-container/1.0");
    }

    /// <summary>Checks that the registry answers the API (<c>GET /v2/</c>) and accepts our credentials.</summary>
    public Task PingAsync(ImageReference image, CancellationToken cancellationToken = default)
    {
        var scope = Scope.For(this, image, push: false, extra: null);
        return RunAsync("contacting", scope, async (baseUri, watchdog) =>
        {
            var target = scope.Target(baseUri, []);
            using var request = RegistryRequest.Create(HttpMethod.Get, new Uri(baseUri, "/v2/"), target);
            using var response = await SendAsync(request, watchdog).ConfigureAwait(false);
            await EnsureSuccessAsync(response, "contacting", scope, watchdog).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>True when the repository holds the blob (<c>HEAD /v2/NAME/blobs/DIGEST</c>).</summary>
    public Task<bool> BlobExistsAsync(ImageReference image, Digest digest, CancellationToken cancellationToken = default)
    {
        var scope = Scope.For(this, image, push: false, extra: null);
        return RunAsync($"checking blob {Short(digest)} in", scope,
            (baseUri, watchdog) => BlobExistsCoreAsync(scope, baseUri, digest, watchdog), cancellationToken);
    }

    /// <summary>
    /// Asks the registry to link a blob from <paramref name="fromRepository"/> on the same
    /// registry (cross-repository mount); true when it did, false when the registry declined
    /// (the caller then uploads).
    /// </summary>
    public Task<bool> TryMountBlobAsync(ImageReference image, Digest digest, string fromRepository, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fromRepository);
        var scope = Scope.For(this, image, push: true, extra: $"repository:{fromRepository}:pull");
        return RunAsync($"mounting blob {Short(digest)} from {fromRepository} into", scope, async (baseUri, watchdog) =>
        {
            var uri = new Uri(baseUri, $"/v2/{scope.Repository}/blobs/uploads/?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(fromRepository)}");
            using var request = RegistryRequest.Create(HttpMethod.Post, uri, scope.Target(baseUri));
            using var response = await SendAsync(request, watchdog).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Created)
            {
                return true;
            }

            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                // The registry opened an ordinary upload instead; close it so it does not linger.
                await CancelUploadAsync(Location(response), scope.Target(baseUri), watchdog).ConfigureAwait(false);
                return false;
            }

            await EnsureSuccessAsync(response, $"mounting blob {Short(digest)} into", scope, watchdog).ConfigureAwait(false);
            return false;
        }, cancellationToken);
    }

    /// <summary>
    /// Uploads a blob unless the repository already has it: one <c>PUT</c> after the
    /// <c>POST</c> when <see cref="RegistryClientOptions.ChunkSize"/> is 0, else <c>PATCH</c>
    /// chunks with <c>Content-Range</c> and a closing <c>PUT ?digest=</c>.
    /// <paramref name="openContent"/> is called once per attempt for a fresh stream at offset 0.
    /// </summary>
    public Task PushBlobAsync(ImageReference image, Descriptor blob, Func<Stream> openContent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(openContent);
        var scope = Scope.For(this, image, push: true, extra: null);
        var what = $"pushing blob {Short(blob.Digest)} to";
        return RunAsync(what, scope, async (baseUri, watchdog) =>
        {
            // After a failed attempt the blob may have landed anyway; asking is cheaper than sending.
            if (await BlobExistsCoreAsync(scope, baseUri, blob.Digest, watchdog).ConfigureAwait(false))
            {
                return true;
            }

            var target = scope.Target(baseUri);
            using (var start = RegistryRequest.Create(HttpMethod.Post, new Uri(baseUri, $"/v2/{scope.Repository}/blobs/uploads/"), target))
            using (var started = await SendAsync(start, watchdog).ConfigureAwait(false))
            {
                await EnsureSuccessAsync(started, what, scope, watchdog).ConfigureAwait(false);
                Expect(started, HttpStatusCode.Accepted, what, scope);
                var location = Location(started);
                if (_options.ChunkSize > 0)
                {
                    location = await PatchChunksAsync(location, target, blob, openContent, what, scope, watchdog).ConfigureAwait(false);
                }

                HttpContent Body()
                {
                    if (_options.ChunkSize > 0)
                    {
                        return new ByteArrayContent([]);
                    }

                    var source = openContent();
                    if (source.CanSeek && source.Length - source.Position != blob.Size)
                    {
                        // A caller bug, not a fault to retry: fail before sending anything.
                        var available = source.Length - source.Position;
                        source.Dispose();
                        throw new ArgumentException($"blob {blob.Digest} should be {blob.Size} bytes, the stream holds {available}", nameof(blob));
                    }

                    var content = new StreamContent(new WatchedStream(source, watchdog));
                    content.Headers.ContentLength = blob.Size;
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    return content;
                }

                using var finish = RegistryRequest.Create(HttpMethod.Put, WithQuery(location, "digest", blob.Digest.ToString()), target, Body);
                using var finished = await SendAsync(finish, watchdog).ConfigureAwait(false);
                await EnsureSuccessAsync(finished, what, scope, watchdog).ConfigureAwait(false);
                Expect(finished, HttpStatusCode.Created, what, scope);
                CheckDigestHeader(finished, blob.Digest, what, scope);
            }

            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Uploads a manifest or index under a tag or digest with <paramref name="mediaType"/> as
    /// its exact <c>Content-Type</c>; returns its digest after checking the registry computed the same.
    /// </summary>
    public Task<Digest> PushManifestAsync(
        ImageReference image, string reference, ReadOnlyMemory<byte> manifest, string mediaType, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        ArgumentException.ThrowIfNullOrEmpty(mediaType);
        if (manifest.Length > OciJson.MaxDocumentBytes)
        {
            throw new ArgumentException($"a manifest is at most {OciJson.MaxDocumentBytes} bytes; this one is {manifest.Length}", nameof(manifest));
        }

        var digest = Digest.Compute(manifest.Span);
        if (Digest.TryParse(reference, out var pinned) && pinned != digest)
        {
            throw new ArgumentException($"the manifest's digest is {digest}, not the reference {pinned}", nameof(reference));
        }

        var bytes = manifest.ToArray();
        var scope = Scope.For(this, image, push: true, extra: null);
        var what = $"pushing manifest {reference} to";
        return RunAsync(what, scope, async (baseUri, watchdog) =>
        {
            HttpContent Body()
            {
                var content = new ByteArrayContent(bytes);
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
                return content;
            }

            using var request = RegistryRequest.Create(HttpMethod.Put, ManifestUri(baseUri, scope, reference), scope.Target(baseUri), Body);
            using var response = await SendAsync(request, watchdog).ConfigureAwait(false);
            await EnsureSuccessAsync(response, what, scope, watchdog).ConfigureAwait(false);
            Expect(response, HttpStatusCode.Created, what, scope);
            CheckDigestHeader(response, digest, what, scope);
            return digest;
        }, cancellationToken);
    }

    /// <summary>
    /// Fetches a manifest or index (OCI or Docker), keeping the exact bytes. When
    /// <paramref name="reference"/> is a digest the bytes must hash to it.
    /// </summary>
    /// <exception cref="RegistryException">Kind <see cref="RegistryErrorKind.Protocol"/> for a digest mismatch or an oversized or untyped document.</exception>
    public Task<ReceivedManifest> GetManifestAsync(ImageReference image, string reference, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        var scope = Scope.For(this, image, push: false, extra: null);
        var what = $"getting manifest {reference} from";
        return RunAsync(what, scope, async (baseUri, watchdog) =>
        {
            using var request = RegistryRequest.Create(HttpMethod.Get, ManifestUri(baseUri, scope, reference), scope.Target(baseUri));
            foreach (var type in ManifestMediaTypes)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            using var response = await SendAsync(request, watchdog).ConfigureAwait(false);
            await EnsureSuccessAsync(response, what, scope, watchdog).ConfigureAwait(false);
            var bytes = await ReadCappedAsync(response, OciJson.MaxDocumentBytes, "manifest", watchdog, what, scope).ConfigureAwait(false);

            Digest digest;
            if (Digest.TryParse(reference, out var pinned))
            {
                using var hasher = pinned.CreateHasher();
                hasher.AppendData(bytes);
                digest = Digest.FromHasher(hasher);
                if (digest != pinned)
                {
                    throw Protocol(what, scope, $"the manifest's bytes hash to {digest}, not the requested {pinned}");
                }
            }
            else
            {
                digest = Digest.Compute(bytes);
                CheckDigestHeader(response, digest, what, scope);
            }

            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (!MediaTypes.IsManifest(mediaType) && !MediaTypes.IsIndex(mediaType))
            {
                // Some registries send application/json; the document's own field then decides.
                try
                {
                    mediaType = OciJson.PeekMediaType(bytes);
                }
                catch (InvalidDataException e)
                {
                    throw Protocol(what, scope, $"the manifest is {e.Message}");
                }
            }

            return mediaType is null
                ? throw Protocol(what, scope, "the manifest has no recognisable media type")
                : new ReceivedManifest(bytes, mediaType, digest);
        }, cancellationToken);
    }

    /// <summary>
    /// Opens a blob for reading from <paramref name="offset"/> (a <c>Range</c> request when
    /// positive). Redirects to other hosts (blob storage) are followed without our credentials.
    /// Nothing is verified: the caller hashes the bytes. Reads that stall for the idle timeout
    /// throw <see cref="TimeoutException"/>; a caller resumes with a new offset.
    /// </summary>
    public Task<Stream> GetBlobUnverifiedAsync(ImageReference image, Digest digest, long offset, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var scope = Scope.For(this, image, push: false, extra: null);
        var what = $"getting blob {Short(digest)} from";
        return RunAsync(what, scope, async (baseUri, watchdog) =>
        {
            var target = scope.Target(baseUri);
            var uri = new Uri(baseUri, $"/v2/{scope.Repository}/blobs/{digest}");
            for (var redirects = 0; ; redirects++)
            {
                // Authorization is added only by AuthHandler, and only for the registry's own authority.
                var request = RegistryRequest.Create(HttpMethod.Get, uri, target);
                if (offset > 0)
                {
                    request.Headers.Range = new RangeHeaderValue(offset, null);
                }

                HttpResponseMessage response;
                try
                {
                    response = await SendAsync(request, watchdog).ConfigureAwait(false);
                }
                finally
                {
                    request.Dispose();
                }

                if ((int)response.StatusCode is 301 or 302 or 303 or 307 or 308 && redirects < MaxRedirects)
                {
                    uri = Location(response);
                    response.Dispose();
                    continue;
                }

                try
                {
                    await EnsureSuccessAsync(response, what, scope, watchdog).ConfigureAwait(false);
                    long skip = 0;
                    if (response.StatusCode == HttpStatusCode.PartialContent)
                    {
                        if (response.Content.Headers.ContentRange?.From is { } from && from != offset)
                        {
                            throw Protocol(what, scope, $"asked for bytes from {offset}, got a range from {from}");
                        }
                    }
                    else if (offset > 0)
                    {
                        skip = offset;
                    }

                    var stream = await response.Content.ReadAsStreamAsync(watchdog.Token).ConfigureAwait(false);
                    var bodyWatchdog = new IdleWatchdog(_options.IdleTimeout, _options.TimeProvider, CancellationToken.None);
                    return (Stream)new WatchedStream(stream, bodyWatchdog, response, ownsWatchdog: true, skip: skip);
                }
                catch
                {
                    response.Dispose();
                    throw;
                }
            }
        }, cancellationToken);
    }

    /// <summary>Releases the connections.</summary>
    public void Dispose() => _http.Dispose();

    // Retry-After is delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
    internal static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider timeProvider)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    internal static async Task<byte[]> ReadCappedAsync(HttpResponseMessage response, int cap, string what, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return await ReadCappedAsync(stream, response.Content.Headers.ContentLength, cap, what, cancellationToken).ConfigureAwait(false);
    }

    // Every in-memory read of remote data has a named cap; a declared length over it fails
    // before any byte is read, an undeclared one as soon as the cap is passed.
    private static async Task<byte[]> ReadCappedAsync(Stream stream, long? declaredLength, int cap, string what, CancellationToken cancellationToken)
    {
        await using (stream.ConfigureAwait(false))
        {
            if (declaredLength > cap)
            {
                throw new InvalidDataException($"the {what} is {declaredLength} bytes, more than the {cap}-byte limit");
            }

            using var buffer = new MemoryStream((int)Math.Min(cap, declaredLength ?? 4096));
            var chunk = new byte[16 * 1024];
            int n;
            while ((n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + n > cap)
                {
                    throw new InvalidDataException($"the {what} is more than the {cap}-byte limit");
                }

                buffer.Write(chunk, 0, n);
            }

            return buffer.ToArray();
        }
    }

    private static SocketsHttpHandler CreateTransport(RegistryClientOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // Redirects are followed by the client so credentials never follow them to another host.
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.IdleTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        if (!options.TlsVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }

        return handler;
    }

    private async Task<T> RunAsync<T>(string what, Scope scope, Func<Uri, IdleWatchdog, Task<T>> attempt, CancellationToken cancellationToken)
    {
        for (var retry = 0; ; retry++)
        {
            using var watchdog = new IdleWatchdog(_options.IdleTimeout, _options.TimeProvider, cancellationToken);
            RegistryException error;
            try
            {
                var baseUri = await BaseUriAsync(scope, what, cancellationToken).ConfigureAwait(false);
                return await attempt(baseUri, watchdog).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && Classify(e, what, scope, watchdog) is { } classified)
            {
                error = classified;
            }

            if (!error.IsTransient)
            {
                throw error;
            }

            var delay = error.RetryAfter ?? Backoff(retry);
            if (retry >= _options.MaxRetries || delay > _options.MaxRetryAfter)
            {
                var why = retry >= _options.MaxRetries
                    ? $"gave up after {retry} {(retry == 1 ? "retry" : "retries")}"
                    : $"the registry asked to wait {delay.TotalSeconds:0} s";
                throw new RegistryException(error.Kind, $"{error.Message} ({why})", error)
                {
                    StatusCode = error.StatusCode,
                    ErrorCode = error.ErrorCode,
                };
            }

            Log.Retrying(_logger, error.Message, retry + 1, _options.MaxRetries, delay.TotalSeconds, error);
            await Task.Delay(delay, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private TimeSpan Backoff(int retry)
    {
        // Exponential with "equal jitter": half fixed, half random, so clients spread out.
        var ceiling = Math.Min(_options.MaxBackoff.Ticks, _options.InitialBackoff.Ticks * Math.Pow(2, Math.Min(retry, 30)));
        return TimeSpan.FromTicks((long)(ceiling / 2 + (Random.Shared.NextDouble() * ceiling / 2)));
    }

    private RegistryException? Classify(Exception e, string what, Scope scope, IdleWatchdog watchdog)
    {
        switch (e)
        {
            case RegistryException registry:
                return registry;
            case OperationCanceledException or TimeoutException when watchdog.Fired || e is TimeoutException || e.InnerException is TimeoutException:
                return new RegistryException(RegistryErrorKind.Unreachable, $"{what} {scope.Display}: no data from {scope.Host} for {_options.IdleTimeout.TotalSeconds:0} s", e)
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

    private async Task<Uri> BaseUriAsync(Scope scope, string what, CancellationToken cancellationToken)
    {
        if (_baseUris.TryGetValue(scope.Host, out var known))
        {
            return known;
        }

        // podman --tls-verify=false: HTTPS without certificate checks first, then plain HTTP.
        string[] schemes = _options.TlsVerify ? ["https"] : ["https", "http"];
        for (var i = 0; ; i++)
        {
            var candidate = new Uri($"{schemes[i]}://{scope.Host}/");
            using var probe = new IdleWatchdog(_options.IdleTimeout, _options.TimeProvider, cancellationToken);
            try
            {
                using var request = RegistryRequest.Create(HttpMethod.Get, new Uri(candidate, "/v2/"), target: null);
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, probe.Token).ConfigureAwait(false);
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
                throw new RegistryException(
                    RegistryErrorKind.Unreachable,
                    $"{what} {scope.Display}: cannot reach registry {candidate.Host}:{candidate.Port} ({Describe(e)})",
                    e);
            }
        }
    }

    private async Task<bool> BlobExistsCoreAsync(Scope scope, Uri baseUri, Digest digest, IdleWatchdog watchdog)
    {
        using var request = RegistryRequest.Create(HttpMethod.Head, new Uri(baseUri, $"/v2/{scope.Repository}/blobs/{digest}"), scope.Target(baseUri));
        using var response = await SendAsync(request, watchdog).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        // A redirect points at storage that holds the blob.
        if (response.IsSuccessStatusCode || (int)response.StatusCode is 307 or 302)
        {
            return true;
        }

        await EnsureSuccessAsync(response, $"checking blob {Short(digest)} in", scope, watchdog).ConfigureAwait(false);
        return false;
    }

    private async Task<Uri> PatchChunksAsync(
        Uri location, AuthTarget target, Descriptor blob, Func<Stream> openContent, string what, Scope scope, IdleWatchdog watchdog)
    {
        var stream = openContent();
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[(int)Math.Clamp(Math.Min(_options.ChunkSize, blob.Size), 1, 64L * 1024 * 1024)];
            long offset = 0;
            while (true)
            {
                var filled = 0;
                int n;
                while (filled < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(filled), watchdog.Token).ConfigureAwait(false)) > 0)
                {
                    filled += n;
                }

                if (filled == 0)
                {
                    break;
                }

                var start = offset;
                var length = filled;
                HttpContent Body()
                {
                    var content = new StreamContent(new WatchedStream(new MemoryStream(buffer, 0, length, writable: false), watchdog));
                    content.Headers.ContentLength = length;
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

                    // distribution-spec: "Content-Range: <range>" is start-end inclusive, without a unit.
                    content.Headers.TryAddWithoutValidation("Content-Range", $"{start}-{start + length - 1}");
                    return content;
                }

                using var request = RegistryRequest.Create(HttpMethod.Patch, location, target, Body);
                using var response = await SendAsync(request, watchdog).ConfigureAwait(false);
                await EnsureSuccessAsync(response, what, scope, watchdog).ConfigureAwait(false);
                Expect(response, HttpStatusCode.Accepted, what, scope);
                location = Location(response);
                offset += length;
            }

            if (offset != blob.Size)
            {
                throw new ArgumentException($"blob {blob.Digest} should be {blob.Size} bytes, the stream gave {offset}", nameof(blob));
            }

            return location;
        }
    }

    private async Task CancelUploadAsync(Uri location, AuthTarget target, IdleWatchdog watchdog)
    {
        try
        {
            using var request = RegistryRequest.Create(HttpMethod.Delete, location, target);
            using var response = await SendAsync(request, watchdog).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            // Best effort: the registry expires abandoned uploads on its own.
        }
    }

    private Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, IdleWatchdog watchdog)
    {
        watchdog.Kick();
        return _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, watchdog.Token);
    }

    private async Task EnsureSuccessAsync(HttpResponseMessage response, string what, Scope scope, IdleWatchdog watchdog)
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
            RetryAfter = RetryAfter(response, _options.TimeProvider),
        };
    }

    // distribution-spec "Error Codes": {"errors": [{"code": "...", "message": "...", "detail": ...}]}
    private static async Task<(string? Code, string? Detail)> ReadErrorAsync(HttpResponseMessage response, IdleWatchdog watchdog)
    {
        byte[] body;
        try
        {
            body = await ReadCappedAsync(response, MaxErrorBodyBytes, "error body", watchdog.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or HttpRequestException or OperationCanceledException)
        {
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

    private async Task<byte[]> ReadCappedAsync(HttpResponseMessage response, int cap, string name, IdleWatchdog watchdog, string what, Scope scope)
    {
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(watchdog.Token).ConfigureAwait(false);
            return await ReadCappedAsync(new WatchedStream(stream, watchdog), response.Content.Headers.ContentLength, cap, name, watchdog.Token)
                .ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw Protocol(what, scope, e.Message, e);
        }
    }

    // distribution-spec names one success status per step; another 2xx means we and the
    // registry disagree about the upload's state, and going on could tag missing content.
    private static void Expect(HttpResponseMessage response, HttpStatusCode expected, string what, Scope scope)
    {
        if (response.StatusCode != expected)
        {
            throw Protocol(what, scope, $"expected HTTP {(int)expected} {expected}, got HTTP {(int)response.StatusCode}");
        }
    }

    private static void CheckDigestHeader(HttpResponseMessage response, Digest expected, string what, Scope scope)
    {
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values)
            && Digest.TryParse(values.FirstOrDefault(), out var reported)
            && reported.Algorithm == expected.Algorithm
            && reported != expected)
        {
            throw Protocol(what, scope, $"the registry reports digest {reported}, expected {expected}");
        }
    }

    private static RegistryException Protocol(string what, Scope scope, string problem, Exception? inner = null) =>
        new(RegistryErrorKind.Protocol, $"{what} {scope.Display}: {OneLine(problem)}", inner);

    private static Uri Location(HttpResponseMessage response)
    {
        var location = response.Headers.Location
            ?? throw new InvalidDataException($"HTTP {(int)response.StatusCode} without a Location header");

        // Location may be relative to the request (distribution-spec allows both forms).
        return location.IsAbsoluteUri ? location : new Uri(response.RequestMessage!.RequestUri!, location);
    }

    private static Uri WithQuery(Uri uri, string name, string value)
    {
        var builder = new UriBuilder(uri);
        var pair = $"{name}={Uri.EscapeDataString(value)}";
        builder.Query = string.IsNullOrEmpty(builder.Query) ? pair : builder.Query.TrimStart('?') + "&" + pair;
        return builder.Uri;
    }

    private static Uri ManifestUri(Uri baseUri, Scope scope, string reference) =>
        new(baseUri, $"/v2/{scope.Repository}/manifests/{Uri.EscapeDataString(reference)}");

    private static string Short(Digest digest) =>
        digest.IsEmpty ? "(empty digest)" : $"{digest.Algorithm}:{digest.Hex[..12]}";

    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= 300 ? line : line[..300] + "…";
    }

    private RegistryCredentials? CredentialsFor(ImageReference image) =>
        _options.Credentials ?? _credentials.GetOrAdd(
            $"{image.Registry}/{image.Repository}",
            _ => AuthFile.Find(image.Registry!, image.Repository!, _options.AuthFile, _options.Environment));

    /// <summary>One repository on one registry, the credentials for it and the token scopes an operation needs.</summary>
    private sealed record Scope(string Host, string Registry, string Repository, RegistryCredentials? Credentials, IReadOnlyList<string> Scopes)
    {
        public string Display => $"{Registry}/{Repository}";

        public static Scope For(RegistryClient client, ImageReference image, bool push, string? extra)
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

            return new Scope(image.ApiHost, image.Registry!, image.Repository, client.CredentialsFor(image), scopes);
        }

        public AuthTarget Target(Uri baseUri, IReadOnlyList<string>? scopes = null) =>
            new(baseUri.Authority, Repository, Credentials, scopes ?? Scopes);
    }
}
