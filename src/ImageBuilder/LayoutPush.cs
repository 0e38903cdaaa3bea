using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OstreeContainer.ImageBuilder.Derivation;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.ImageBuilder;

/// <summary>What a push did.</summary>
/// <param name="Manifest">The manifest digest the registry holds.</param>
/// <param name="BlobsUploaded">Blobs sent.</param>
/// <param name="BlobsSkipped">Blobs the registry already had.</param>
/// <param name="BytesUploaded">Bytes of the blobs sent.</param>
/// <param name="BlobsMounted">Base blobs the registry linked from the base's repository instead of receiving them.</param>
public sealed record PushResult(Digest Manifest, int BlobsUploaded, int BlobsSkipped, long BytesUploaded, int BlobsMounted = 0);

/// <summary>Copies an image from a layout to a registry: blobs in parallel (skipping those present), then the manifest.</summary>
public static class LayoutPush
{
    /// <summary>Blobs uploaded at once; registries and links handle a few streams better than one.</summary>
    public const int DefaultParallelism = 4;

    /// <summary>
    /// Pushes the image whose manifest is <paramref name="manifestBytes"/> from
    /// <paramref name="layout"/> to <paramref name="target"/> (tag or digest). Blobs are read
    /// through the layout's verifying stream, so a blob damaged on disk fails the push
    /// instead of reaching the registry. The manifest goes last: until then the tag does
    /// not move. Blobs of <paramref name="baseImage"/> that the layout lacks (a derived
    /// build that did not copy them) are mounted from the base's repository when it is on
    /// the same registry, else fetched from the base (verified) into the layout and sent.
    /// Each blob sent is logged (category <see cref="LayoutPush"/>) from up to
    /// <paramref name="parallelism"/> uploads at once.
    /// </summary>
    public static async Task<PushResult> PushAsync(
        ImageLayout layout,
        byte[] manifestBytes,
        RegistryClient client,
        ImageReference target,
        ILoggerFactory? loggerFactory = null,
        int parallelism = DefaultParallelism,
        BaseImage? baseImage = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(manifestBytes);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(target);
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(typeof(LayoutPush));
        var manifest = OciJson.ParseManifest(manifestBytes);
        var blobs = manifest.Layers.Prepend(manifest.Config).DistinctBy(b => b.Digest).ToList();

        await client.PingAsync(target, cancellationToken).ConfigureAwait(false);
        var fromBase = baseImage?.Layers.Select(l => l.Digest).ToHashSet() ?? [];
        var mountFrom = baseImage?.Reference is { Transport: ImageTransport.Registry } source && source.Registry == target.Registry ? source.Repository : null;
        int uploaded = 0, skipped = 0, mounted = 0;
        long bytes = 0;
        await Parallel.ForEachAsync(
            blobs.OrderByDescending(b => b.Size),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken },
            async (blob, token) =>
            {
                if (await client.BlobExistsAsync(target, blob.Digest, token).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref skipped);
                    return;
                }

                if (fromBase.Contains(blob.Digest))
                {
                    // A link inside the registry beats any upload, even of a blob we also built.
                    if (mountFrom is not null && await client.TryMountBlobAsync(target, blob.Digest, mountFrom, token).ConfigureAwait(false))
                    {
                        Interlocked.Increment(ref mounted);
                        return;
                    }

                    await baseImage!.CopyBlobToAsync(layout, baseImage.Layers.First(l => l.Digest == blob.Digest), token).ConfigureAwait(false);
                }

                await client.PushBlobAsync(target, blob, () => layout.OpenBlob(blob), token).ConfigureAwait(false);
                Interlocked.Increment(ref uploaded);
                Interlocked.Add(ref bytes, blob.Size);
                Log.BlobPushed(logger, blob.Digest, blob.Size / 1e6);
            }).ConfigureAwait(false);

        var digest = await client.PushManifestAsync(target, target.ManifestReference, manifestBytes, manifest.MediaType ?? MediaTypes.OciManifest, cancellationToken)
            .ConfigureAwait(false);
        return new PushResult(digest, uploaded, skipped, bytes, mounted);
    }
}
