using System.Net;
using System.Net.Http.Headers;
using OstreeContainer.Errors;
using OstreeContainer.Oci.Images;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// The writing side of the distribution API (containers/image's <c>docker_image_dest</c>):
/// blob existence checks, cross-repository mounts, blob uploads (monolithic or chunked) and
/// manifest pushes.
/// </summary>
/// <remarks>
/// What is verified here: each step's one success status (202 for POST and PATCH, 201 for the
/// closing PUT, a manifest PUT and a mount), the blob's length against its descriptor, and
/// the registry's <c>Docker-Content-Digest</c> against ours. Bodies come from the caller's
/// <c>Func&lt;Stream&gt;</c> or from bytes we hold, opened once per attempt and never replayed.
/// </remarks>
internal sealed class PushOperations(RegistryConnection connection)
{
    /// <summary>Largest chunk held in memory for one <c>PATCH</c>, whatever <see cref="RegistryClientOptions.ChunkSize"/> says.</summary>
    private const int MaxChunkBytes = 64 * 1024 * 1024;

    private const string OctetStream = "application/octet-stream";

    private RegistryClientOptions Options => connection.Options;

    /// <inheritdoc cref="RegistryClient.BlobExistsAsync"/>
    public Task<bool> BlobExistsAsync(ImageReference image, Digest digest, CancellationToken cancellationToken)
    {
        var scope = connection.Scope(image, push: false);
        return connection.RunAsync($"checking blob {RegistryConnection.Short(digest)} in", scope,
            (baseUri, watchdog) => BlobExistsCoreAsync(scope, baseUri, digest, watchdog), cancellationToken);
    }

    /// <inheritdoc cref="RegistryClient.TryMountBlobAsync"/>
    public Task<bool> TryMountBlobAsync(ImageReference image, Digest digest, string fromRepository, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(fromRepository);
        var scope = connection.Scope(image, push: true, extra: $"repository:{fromRepository}:pull");
        var shortDigest = RegistryConnection.Short(digest);
        return connection.RunAsync($"mounting blob {shortDigest} from {fromRepository} into", scope, async (baseUri, watchdog) =>
        {
            using var request = RegistryRequest.Create(HttpMethod.Post, scope.MountUri(baseUri, digest, fromRepository), scope.Target(baseUri));
            using var response = await connection.SendAsync(request, watchdog).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Created)
            {
                return true;
            }

            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                // The registry opened an ordinary upload instead; close it so it does not linger.
                await CancelUploadAsync(RegistryConnection.Location(response), scope.Target(baseUri), watchdog).ConfigureAwait(false);
                return false;
            }

            await connection.EnsureSuccessAsync(response, $"mounting blob {shortDigest} into", scope, watchdog).ConfigureAwait(false);
            return false;
        }, cancellationToken);
    }

    /// <inheritdoc cref="RegistryClient.PushBlobAsync"/>
    public Task PushBlobAsync(ImageReference image, Descriptor blob, Func<Stream> openContent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(openContent);
        var scope = connection.Scope(image, push: true);
        var what = $"pushing blob {RegistryConnection.Short(blob.Digest)} to";
        return connection.RunAsync(what, scope, async (baseUri, watchdog) =>
        {
            // After a failed attempt the blob may have landed anyway; asking is cheaper than sending.
            if (await BlobExistsCoreAsync(scope, baseUri, blob.Digest, watchdog).ConfigureAwait(false))
            {
                return true;
            }

            var target = scope.Target(baseUri);
            using (var start = RegistryRequest.Create(HttpMethod.Post, scope.UploadsUri(baseUri), target))
            using (var started = await connection.SendAsync(start, watchdog).ConfigureAwait(false))
            {
                await connection.EnsureSuccessAsync(started, what, scope, watchdog).ConfigureAwait(false);
                RegistryErrors.Expect(started, HttpStatusCode.Accepted, what, scope);
                var location = RegistryConnection.Location(started);
                if (Options.ChunkSize > 0)
                {
                    location = await PatchChunksAsync(location, target, blob, openContent, what, scope, watchdog).ConfigureAwait(false);
                }

                // Chunked: the closing PUT is empty. Monolithic: it carries the whole blob.
                HttpContent Body() => Options.ChunkSize > 0 ? new ByteArrayContent([]) : MonolithicBody(blob, openContent, watchdog);

                using var finish = RegistryRequest.Create(HttpMethod.Put, WithQuery(location, "digest", blob.Digest.ToString()), target, Body);
                using var finished = await connection.SendAsync(finish, watchdog).ConfigureAwait(false);
                await connection.EnsureSuccessAsync(finished, what, scope, watchdog).ConfigureAwait(false);
                RegistryErrors.Expect(finished, HttpStatusCode.Created, what, scope);
                RegistryConnection.CheckDigestHeader(finished, blob.Digest, what, scope);
            }

            return true;
        }, cancellationToken);
    }

    /// <inheritdoc cref="RegistryClient.PushManifestAsync"/>
    public Task<Digest> PushManifestAsync(
        ImageReference image, string reference, ReadOnlyMemory<byte> manifest, string mediaType, CancellationToken cancellationToken)
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
            // The user named the image by a digest this manifest does not have: their input, not a bug.
            throw new UserInputException($"the manifest's digest is {digest}, not the reference {pinned}");
        }

        var bytes = manifest.ToArray();
        var scope = connection.Scope(image, push: true);
        var what = $"pushing manifest {reference} to";
        return connection.RunAsync(what, scope, async (baseUri, watchdog) =>
        {
            HttpContent Body()
            {
                var content = new ByteArrayContent(bytes);
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
                return content;
            }

            using var request = RegistryRequest.Create(HttpMethod.Put, scope.ManifestUri(baseUri, reference), scope.Target(baseUri), Body);
            using var response = await connection.SendAsync(request, watchdog).ConfigureAwait(false);
            await connection.EnsureSuccessAsync(response, what, scope, watchdog).ConfigureAwait(false);
            RegistryErrors.Expect(response, HttpStatusCode.Created, what, scope);
            RegistryConnection.CheckDigestHeader(response, digest, what, scope);
            return digest;
        }, cancellationToken);
    }

    private async Task<bool> BlobExistsCoreAsync(RegistryScope scope, Uri baseUri, Digest digest, IdleWatchdog watchdog)
    {
        using var request = RegistryRequest.Create(HttpMethod.Head, scope.BlobUri(baseUri, digest), scope.Target(baseUri));
        using var response = await connection.SendAsync(request, watchdog).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        // A redirect points at storage that holds the blob.
        if (response.IsSuccessStatusCode || (int)response.StatusCode is 307 or 302)
        {
            return true;
        }

        await connection.EnsureSuccessAsync(response, $"checking blob {RegistryConnection.Short(digest)} in", scope, watchdog).ConfigureAwait(false);
        return false;
    }

    private static StreamContent MonolithicBody(Descriptor blob, Func<Stream> openContent, IdleWatchdog watchdog)
    {
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
        content.Headers.ContentType = new MediaTypeHeaderValue(OctetStream);
        return content;
    }

    // Sends the blob as PATCH requests of up to ChunkSize bytes; returns where the closing PUT goes.
    private async Task<Uri> PatchChunksAsync(
        Uri location, AuthTarget target, Descriptor blob, Func<Stream> openContent, string what, RegistryScope scope, IdleWatchdog watchdog)
    {
        var stream = openContent();
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[(int)Math.Clamp(Math.Min(Options.ChunkSize, blob.Size), 1, MaxChunkBytes)];
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
                    content.Headers.ContentType = new MediaTypeHeaderValue(OctetStream);

                    // distribution-spec: "Content-Range: <range>" is start-end inclusive, without a unit.
                    content.Headers.TryAddWithoutValidation("Content-Range", $"{start}-{start + length - 1}");
                    return content;
                }

                using var request = RegistryRequest.Create(HttpMethod.Patch, location, target, Body);
                using var response = await connection.SendAsync(request, watchdog).ConfigureAwait(false);
                await connection.EnsureSuccessAsync(response, what, scope, watchdog).ConfigureAwait(false);
                RegistryErrors.Expect(response, HttpStatusCode.Accepted, what, scope);
                location = RegistryConnection.Location(response);
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
            using var response = await connection.SendAsync(request, watchdog).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            // Best effort: the registry expires abandoned uploads on its own.
        }
    }

    // The upload Location may carry its own query (upload state); the digest is appended to it.
    private static Uri WithQuery(Uri uri, string name, string value)
    {
        var builder = new UriBuilder(uri);
        var pair = $"{name}={Uri.EscapeDataString(value)}";
        builder.Query = string.IsNullOrEmpty(builder.Query) ? pair : builder.Query.TrimStart('?') + "&" + pair;
        return builder.Uri;
    }
}
