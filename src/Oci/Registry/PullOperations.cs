using System.Net;
using System.Net.Http.Headers;
using OstreeContainer.Oci.Images;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// The reading side of the distribution API (containers/image's <c>docker_image_src</c>):
/// manifests by tag or digest, and blobs as streams, following redirects to blob storage.
/// </summary>
/// <remarks>
/// What is verified here: a manifest's bytes against the digest it was asked by (or the
/// registry's <c>Docker-Content-Digest</c> for a tag), its size against
/// <see cref="OciJson.MaxDocumentBytes"/> and its media type. Blobs are not verified at all:
/// the caller hashes what it reads.
/// </remarks>
internal sealed class PullOperations(RegistryConnection connection)
{
    private static readonly string[] ManifestMediaTypes =
        [MediaTypes.OciManifest, MediaTypes.OciIndex, MediaTypes.DockerManifest, MediaTypes.DockerManifestList];

    /// <inheritdoc cref="RegistryClient.GetManifestAsync"/>
    public Task<ReceivedManifest> GetManifestAsync(ImageReference image, string reference, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        var scope = connection.Scope(image, push: false);
        var what = $"getting manifest {reference} from";
        return connection.RunAsync(what, scope, async (baseUri, watchdog) =>
        {
            using var request = RegistryRequest.Create(HttpMethod.Get, scope.ManifestUri(baseUri, reference), scope.Target(baseUri));
            foreach (var type in ManifestMediaTypes)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            using var response = await connection.SendAsync(request, watchdog).ConfigureAwait(false);
            await connection.EnsureSuccessAsync(response, what, scope, watchdog).ConfigureAwait(false);
            var bytes = await ReadManifestAsync(response, watchdog, what, scope).ConfigureAwait(false);

            Digest digest;
            if (Digest.TryParse(reference, out var pinned))
            {
                using var hasher = pinned.CreateHasher();
                hasher.AppendData(bytes);
                digest = Digest.FromHasher(hasher);
                if (digest != pinned)
                {
                    throw RegistryErrors.Protocol(what, scope, $"the manifest's bytes hash to {digest}, not the requested {pinned}");
                }
            }
            else
            {
                digest = Digest.Compute(bytes);
                RegistryConnection.CheckDigestHeader(response, digest, what, scope);
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
                    throw RegistryErrors.Protocol(what, scope, $"the manifest is {e.Message}");
                }
            }

            return mediaType is null
                ? throw RegistryErrors.Protocol(what, scope, "the manifest has no recognisable media type")
                : new ReceivedManifest(bytes, mediaType, digest);
        }, cancellationToken);
    }

    /// <inheritdoc cref="RegistryClient.GetBlobUnverifiedAsync"/>
    public Task<Stream> GetBlobUnverifiedAsync(ImageReference image, Digest digest, long offset, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var scope = connection.Scope(image, push: false);
        var what = $"getting blob {RegistryConnection.Short(digest)} from";
        return connection.RunAsync(what, scope, async (baseUri, watchdog) =>
        {
            var target = scope.Target(baseUri);
            var uri = scope.BlobUri(baseUri, digest);
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
                    response = await connection.SendAsync(request, watchdog).ConfigureAwait(false);
                }
                finally
                {
                    request.Dispose();
                }

                if ((int)response.StatusCode is 301 or 302 or 303 or 307 or 308 && redirects < RegistryClient.MaxRedirects)
                {
                    uri = RegistryConnection.Location(response);
                    response.Dispose();
                    continue;
                }

                try
                {
                    await connection.EnsureSuccessAsync(response, what, scope, watchdog).ConfigureAwait(false);
                    long skip = 0;
                    if (response.StatusCode == HttpStatusCode.PartialContent)
                    {
                        if (response.Content.Headers.ContentRange?.From is { } from && from != offset)
                        {
                            throw RegistryErrors.Protocol(what, scope, $"asked for bytes from {offset}, got a range from {from}");
                        }
                    }
                    else if (offset > 0)
                    {
                        skip = offset;
                    }

                    // The body outlives this attempt, so it gets a watchdog of its own; the caller
                    // cancels by disposing the stream.
                    var stream = await response.Content.ReadAsStreamAsync(watchdog.Token).ConfigureAwait(false);
                    var bodyWatchdog = new IdleWatchdog(connection.Options.IdleTimeout, connection.Options.TimeProvider, CancellationToken.None);
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

    private static async Task<byte[]> ReadManifestAsync(HttpResponseMessage response, IdleWatchdog watchdog, string what, RegistryScope scope)
    {
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(watchdog.Token).ConfigureAwait(false);
            return await BoundedBody.ReadAsync(
                new WatchedStream(stream, watchdog), response.Content.Headers.ContentLength, OciJson.MaxDocumentBytes, "manifest", watchdog.Token)
                .ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw RegistryErrors.Protocol(what, scope, e.Message, e);
        }
    }
}
