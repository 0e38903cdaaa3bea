using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Oci.Sources;

/// <summary>An image in a registry, read through <see cref="RegistryClient"/>.</summary>
public sealed class RegistryImageSource : ImageSource
{
    private readonly RegistryClient _client;
    private readonly bool _ownsClient;

    /// <summary>Reads <paramref name="image"/> through <paramref name="client"/>, disposed with this source when <paramref name="ownsClient"/>.</summary>
    public RegistryImageSource(ImageReference image, RegistryClient client, bool ownsClient)
        : base(image)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _ownsClient = ownsClient;
    }

    /// <inheritdoc/>
    public override bool IsLocal => false;

    /// <inheritdoc/>
    public override async Task<SourceManifest> ResolveManifestAsync(Platform platform, CancellationToken cancellationToken)
    {
        // A pinned reference is checked by the client; an index entry pins the document below it.
        var received = await _client.GetManifestAsync(Reference, Reference.ManifestReference, cancellationToken).ConfigureAwait(false);
        for (var depth = 0; ImageChecks.NextTowardManifest(received.Bytes, received.MediaType, received.Digest, platform, depth) is { } entry; depth++)
        {
            received = await _client.GetManifestAsync(Reference, entry.Digest.ToString(), cancellationToken).ConfigureAwait(false);
            ImageChecks.CheckIndexEntry(entry, received.Bytes.Length, received.Digest);
        }

        return new SourceManifest(received.Bytes, received.Digest, ImageChecks.ParseManifest(received.Bytes, received.Digest));
    }

    /// <inheritdoc/>
    public override Task<Stream> OpenBlobUnverifiedAsync(Descriptor blob, long offset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        return _client.GetBlobUnverifiedAsync(Reference, blob.Digest, offset, cancellationToken);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsClient)
        {
            _client.Dispose();
        }

        base.Dispose(disposing);
    }
}
