using System.Formats.Tar;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.ImagePuller;

/// <summary>A manifest as received: its exact bytes, the digest over them, and the parsed form.</summary>
public sealed record SourceManifest(byte[] Bytes, Digest Digest, ImageManifest Manifest);

/// <summary>
/// Where an image's manifest and blobs come from: a registry or an OCI layout. Blobs are
/// returned unverified; callers hash them (<see cref="VerifyingStream"/>).
/// </summary>
public abstract class ImageSource : IDisposable
{
    /// <summary>Cap on the image config blob, read into memory.</summary>
    public const int MaxConfigBytes = OciJson.MaxDocumentBytes;

    /// <summary>Index nesting followed before giving up.</summary>
    public const int MaxIndexDepth = 4;

    /// <summary>True when blobs are local files that need no download cache.</summary>
    public abstract bool IsLocal { get; }

    /// <summary>Opens a source for <paramref name="image"/>.</summary>
    /// <param name="client">The registry client to use (not disposed here); null creates one with default options.</param>
    /// <param name="scratch">A directory for unpacking <c>oci-archive:</c> files.</param>
    public static ImageSource Open(ImageReference image, RegistryClient? client, string scratch)
    {
        ArgumentNullException.ThrowIfNull(image);
        return image.Transport switch
        {
            ImageTransport.Registry => new RegistrySource(image, client ?? new RegistryClient(new RegistryClientOptions()), owned: client is null),
            ImageTransport.OciLayout => new LayoutSource(ImageLayout.Open(image.Path!), image.Tag, null),
            ImageTransport.OciArchive => LayoutSource.FromArchive(image, scratch),
            _ => throw new ArgumentOutOfRangeException(nameof(image)),
        };
    }

    /// <summary>The image manifest, an index resolved to <paramref name="platform"/>.</summary>
    public abstract Task<SourceManifest> GetManifestAsync(Platform platform, CancellationToken cancellationToken);

    /// <summary>Opens blob <paramref name="blob"/> from byte <paramref name="offset"/>; nothing is verified.</summary>
    public abstract Task<Stream> OpenBlobUnverifiedAsync(Descriptor blob, long offset, CancellationToken cancellationToken);

    /// <summary>Reads and verifies a small blob (the config).</summary>
    public async Task<byte[]> ReadSmallBlobAsync(Descriptor blob, int maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        if (blob.Size < 0 || blob.Size > maxBytes)
        {
            throw new InvalidDataException($"blob {blob.Digest} declares {blob.Size} bytes, over the {maxBytes}-byte limit for {blob.MediaType}");
        }

        var bytes = new byte[blob.Size];
        var raw = await OpenBlobUnverifiedAsync(blob, 0, cancellationToken).ConfigureAwait(false);
        await using (var verified = new VerifyingStream(raw, blob.Digest, blob.Size, $"blob {blob.Digest}"))
        {
            await verified.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
            // The read that reaches the end checks size and digest.
            _ = await verified.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false);
        }

        return bytes;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases connections or scratch files.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Picks the manifest for <paramref name="platform"/> from an index.</summary>
    protected static Descriptor ChooseFromIndex(byte[] bytes, Digest digest, Platform platform)
    {
        var index = OciJson.ParseIndex(bytes);
        return index.Manifests.FirstOrDefault(m => platform.Matches(m.Platform))
            ?? throw new InvalidDataException($"index {digest} has no manifest for {platform} (it lists {string.Join(", ", index.Manifests.Select(m => m.Platform?.ToString() ?? "?"))})");
    }

    private sealed class RegistrySource(ImageReference image, RegistryClient client, bool owned) : ImageSource
    {
        public override bool IsLocal => false;

        public override async Task<SourceManifest> GetManifestAsync(Platform platform, CancellationToken cancellationToken)
        {
            var reference = image.ManifestReference;
            for (var depth = 0; ; depth++)
            {
                var received = await client.GetManifestAsync(image, reference, cancellationToken).ConfigureAwait(false);
                if (MediaTypes.IsManifest(received.MediaType))
                {
                    return new SourceManifest(received.Bytes, received.Digest, OciJson.ParseManifest(received.Bytes));
                }

                if (!MediaTypes.IsIndex(received.MediaType) || depth >= MaxIndexDepth)
                {
                    throw new InvalidDataException($"manifest {received.Digest}: media type '{received.MediaType}' is not an image manifest");
                }

                reference = ChooseFromIndex(received.Bytes, received.Digest, platform).Digest.ToString();
            }
        }

        public override Task<Stream> OpenBlobUnverifiedAsync(Descriptor blob, long offset, CancellationToken cancellationToken) =>
            client.GetBlobUnverifiedAsync(image, blob.Digest, offset, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing && owned)
            {
                client.Dispose();
            }
        }
    }

    private sealed class LayoutSource(ImageLayout layout, string? tag, string? scratch) : ImageSource
    {
        public override bool IsLocal => true;

        public static LayoutSource FromArchive(ImageReference image, string scratch)
        {
            // An oci-archive is a tar of a layout; .NET's extractor refuses entries that would
            // land outside the destination.
            var directory = Path.Combine(scratch, $"oci-archive-{Guid.NewGuid():N}");
            Directory.CreateDirectory(directory);
            try
            {
                TarFile.ExtractToDirectory(image.Path!, directory, overwriteFiles: false);
                return new LayoutSource(ImageLayout.Open(directory), image.Tag, directory);
            }
            catch
            {
                Directory.Delete(directory, recursive: true);
                throw;
            }
        }

        public override Task<SourceManifest> GetManifestAsync(Platform platform, CancellationToken cancellationToken)
        {
            var resolved = layout.ResolveManifest(tag, platform);
            return Task.FromResult(new SourceManifest(resolved.Bytes, resolved.Descriptor.Digest, OciJson.ParseManifest(resolved.Bytes)));
        }

        public override Task<Stream> OpenBlobUnverifiedAsync(Descriptor blob, long offset, CancellationToken cancellationToken)
        {
            var path = layout.BlobPath(blob.Digest);
            if (!File.Exists(path))
            {
                throw new InvalidDataException($"blob {blob.Digest} is missing from layout '{layout.Directory}'");
            }

            var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            file.Seek(offset, SeekOrigin.Begin);
            return Task.FromResult<Stream>(file);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && scratch is not null && Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }
}
