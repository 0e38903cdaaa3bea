using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;

namespace OstreeContainer.Oci.Sources;

/// <summary>An image in an OCI image layout directory (<c>oci:DIR[:TAG]</c>).</summary>
public class LayoutImageSource : ImageSource
{
    /// <summary>Reads the manifest <paramref name="image"/>'s tag names in <paramref name="layout"/>.</summary>
    public LayoutImageSource(ImageReference image, ImageLayout layout)
        : base(image)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Layout = layout;
    }

    /// <summary>The layout read.</summary>
    public ImageLayout Layout { get; }

    /// <inheritdoc/>
    public override bool IsLocal => true;

    /// <inheritdoc/>
    public override Task<SourceManifest> ResolveManifestAsync(Platform platform, CancellationToken cancellationToken)
    {
        // Local files: the layout reads them synchronously, verified against index.json's entries.
        var resolved = Layout.ResolveManifest(Reference.Tag, platform);
        var digest = resolved.Descriptor.Digest;
        return Task.FromResult(new SourceManifest(resolved.Bytes, digest, ImageChecks.ParseManifest(resolved.Bytes, digest)));
    }

    /// <inheritdoc/>
    public override Task<Stream> OpenBlobUnverifiedAsync(Descriptor blob, long offset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var path = Layout.BlobPath(blob.Digest);
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"blob {blob.Digest} is missing from layout '{Layout.Directory}'");
        }

        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        file.Seek(offset, SeekOrigin.Begin);
        return Task.FromResult<Stream>(file);
    }
}
