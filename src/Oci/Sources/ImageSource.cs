using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Oci.Sources;

/// <summary>
/// Where an image is read from: a registry, an <c>oci:</c> layout or an <c>oci-archive:</c>
/// file, one subclass each. The manifest is resolved through indexes by platform and
/// checked (<see cref="ImageChecks"/>); small documents are read whole, capped and
/// verified; layer blobs come either verified as they are read (<see cref="OpenBlobAsync"/>)
/// or unverified (<see cref="OpenBlobUnverifiedAsync"/>: the caller hashes them, e.g. a
/// download cache resuming from an offset).
/// </summary>
public abstract class ImageSource : IDisposable
{
    /// <summary>Creates a source for <paramref name="reference"/>.</summary>
    protected ImageSource(ImageReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        Reference = reference;
    }

    /// <summary>The image this source reads.</summary>
    public ImageReference Reference { get; }

    /// <summary>True when blobs are local files: reading them again costs no transfer.</summary>
    public abstract bool IsLocal { get; }

    /// <summary>Opens a source for <paramref name="image"/>.</summary>
    /// <param name="client">The registry client to use (not disposed by the source); null creates one with default options, disposed with the source.</param>
    /// <param name="scratch">A directory for unpacking <c>oci-archive:</c> files.</param>
    /// <exception cref="InvalidDataException">A layout or archive is not a valid OCI layout.</exception>
    public static ImageSource Open(ImageReference image, RegistryClient? client, string scratch)
    {
        ArgumentNullException.ThrowIfNull(image);
        return image.Transport switch
        {
            ImageTransport.Registry => client is null
                ? new RegistryImageSource(image, new RegistryClient(new RegistryClientOptions()), ownsClient: true)
                : new RegistryImageSource(image, client, ownsClient: false),
            ImageTransport.OciLayout => new LayoutImageSource(image, ImageLayout.Open(image.Path!)),
            ImageTransport.OciArchive => ArchiveImageSource.Extract(image, scratch),
            _ => throw new ArgumentOutOfRangeException(nameof(image), image.Transport, "unknown transport"),
        };
    }

    /// <summary>
    /// The image manifest: the document the reference names, or the entry for
    /// <paramref name="platform"/> of the index it names (indexes nest up to
    /// <see cref="ImageChecks.MaxIndexDepth"/>). Its bytes are verified against the pinned
    /// digest or the index entry that named them.
    /// </summary>
    /// <exception cref="InvalidDataException">A document is malformed, oversized, of the wrong type or does not match its entry.</exception>
    /// <exception cref="KeyNotFoundException">The tag, or a manifest for the platform, is not there.</exception>
    public abstract Task<SourceManifest> ResolveManifestAsync(Platform platform, CancellationToken cancellationToken);

    /// <summary>
    /// Opens blob <paramref name="blob"/> from byte <paramref name="offset"/>. NOTHING IS
    /// VERIFIED: the caller must hash every byte against the descriptor before trusting any.
    /// </summary>
    public abstract Task<Stream> OpenBlobUnverifiedAsync(Descriptor blob, long offset, CancellationToken cancellationToken);

    /// <summary>
    /// Opens blob <paramref name="blob"/> through a <see cref="VerifyingStream"/>: the read
    /// that reaches its end throws <see cref="InvalidDataException"/> if size or digest differ.
    /// </summary>
    public async Task<Stream> OpenBlobAsync(Descriptor blob, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var raw = await OpenBlobUnverifiedAsync(blob, 0, cancellationToken).ConfigureAwait(false);
        return new VerifyingStream(raw, blob.Digest, blob.Size, $"blob {blob.Digest}");
    }

    /// <summary>Reads a whole small blob of at most <paramref name="maxBytes"/> (a config), verified.</summary>
    /// <exception cref="InvalidDataException">The descriptor's size is over the cap, or the content does not match it.</exception>
    public async Task<byte[]> ReadBlobAsync(Descriptor blob, int maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        if (blob.Size < 0 || blob.Size > maxBytes)
        {
            throw new InvalidDataException($"blob {blob.Digest} is {blob.Size} bytes, over the {maxBytes}-byte limit for {blob.MediaType}");
        }

        var bytes = new byte[blob.Size];
        var stream = await OpenBlobAsync(blob, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);

            // The read that returns 0 is the one that checks size and digest (it throws otherwise).
            _ = await stream.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false);
        }

        return bytes;
    }

    /// <summary>Reads and checks the config of <paramref name="manifest"/> (<see cref="ImageChecks.ParseConfig"/>).</summary>
    /// <exception cref="InvalidDataException">The config is oversized, does not match its descriptor, is malformed or does not fit the manifest.</exception>
    public async Task<ImageConfig> ReadConfigAsync(SourceManifest manifest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var bytes = await ReadBlobAsync(manifest.Manifest.Config, OciJson.MaxDocumentBytes, cancellationToken).ConfigureAwait(false);
        return ImageChecks.ParseConfig(bytes, manifest);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases an owned client or scratch files.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
