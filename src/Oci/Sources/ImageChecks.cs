using OstreeContainer.Oci.Images;

namespace OstreeContainer.Oci.Sources;

/// <summary>
/// The checks every image read goes through, whatever the transport: how deep indexes
/// nest, that an index entry's document has the size and digest the entry declares, that
/// documents have the media types they must, that layers are ones this library can read
/// and copy (no foreign or non-distributable layers), and that the config matches the
/// manifest. <see cref="ImageSource"/> and <see cref="Layout.ImageLayout.ResolveManifest"/>
/// use these and nothing else.
/// </summary>
public static class ImageChecks
{
    /// <summary>How deep nested indexes are followed before giving up (a loop, or a hostile source).</summary>
    public const int MaxIndexDepth = 4;

    /// <summary>
    /// One step down from a document toward the manifest for <paramref name="platform"/>:
    /// null when the document is an image manifest, else the index entry to read next.
    /// </summary>
    /// <param name="bytes">The document's verified bytes.</param>
    /// <param name="mediaType">Its media type (from the descriptor or response that named it).</param>
    /// <param name="digest">Its digest, for messages.</param>
    /// <param name="depth">How many indexes were descended to reach it.</param>
    /// <exception cref="InvalidDataException">Neither a manifest nor an index, nested too deep, or malformed.</exception>
    /// <exception cref="KeyNotFoundException">An index without a manifest for <paramref name="platform"/>.</exception>
    public static Descriptor? NextTowardManifest(ReadOnlySpan<byte> bytes, string? mediaType, Digest digest, Platform platform, int depth)
    {
        ArgumentNullException.ThrowIfNull(platform);
        if (MediaTypes.IsManifest(mediaType))
        {
            return null;
        }

        if (!MediaTypes.IsIndex(mediaType))
        {
            throw new InvalidDataException($"{digest}: media type '{mediaType}' is neither an image manifest nor an index");
        }

        if (depth >= MaxIndexDepth)
        {
            throw new InvalidDataException($"{digest}: indexes nested deeper than {MaxIndexDepth}");
        }

        var index = OciJson.ParseIndex(bytes);
        return index.Manifests.FirstOrDefault(m => platform.Matches(m.Platform))
            ?? throw new KeyNotFoundException(
                $"index {digest} has no manifest for {platform} (it lists {string.Join(", ", index.Manifests.Select(m => m.Platform?.ToString() ?? "?"))})");
    }

    /// <summary>Checks that a document read for index entry <paramref name="entry"/> is the one it names.</summary>
    /// <exception cref="InvalidDataException">Its size or digest differ from the entry's.</exception>
    public static void CheckIndexEntry(Descriptor entry, int size, Digest digest)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (size != entry.Size)
        {
            throw new InvalidDataException($"manifest {entry.Digest} is {size} bytes, the index says {entry.Size}");
        }

        if (digest != entry.Digest)
        {
            throw new InvalidDataException($"manifest {entry.Digest}: its bytes hash to {digest}");
        }
    }

    /// <summary>Parses an image manifest and checks that every layer can be read and copied.</summary>
    /// <exception cref="InvalidDataException">Malformed, or a layer is foreign, non-distributable or of an unknown media type.</exception>
    public static ImageManifest ParseManifest(ReadOnlySpan<byte> bytes, Digest digest)
    {
        ImageManifest manifest;
        try
        {
            manifest = OciJson.ParseManifest(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"manifest {digest}: {e.Message}", e);
        }

        foreach (var layer in manifest.Layers)
        {
            // Foreign (Docker) and non-distributable (OCI) layers are fetched from elsewhere
            // and may not be pushed again: a copy or a derived image could not carry them.
            if (layer.Urls is { Count: > 0 } || MediaTypes.IsNonDistributableLayer(layer.MediaType))
            {
                throw new InvalidDataException($"layer {layer.Digest} is a foreign layer ({(layer.Urls is { Count: > 0 } ? "urls" : layer.MediaType)}); it cannot be copied");
            }

            if (!MediaTypes.IsLayer(layer.MediaType))
            {
                throw new InvalidDataException($"layer {layer.Digest} has media type '{layer.MediaType}', which is not a tar, tar+gzip or tar+zstd layer");
            }
        }

        return manifest;
    }

    /// <summary>Parses the config of <paramref name="manifest"/> and checks it lists a diff ID per layer.</summary>
    /// <exception cref="InvalidDataException">Malformed, or the diff IDs do not match the layers.</exception>
    public static ImageConfig ParseConfig(ReadOnlySpan<byte> bytes, SourceManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var descriptor = manifest.Manifest.Config;
        ImageConfig config;
        try
        {
            config = OciJson.ParseConfig(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"config {descriptor.Digest}: {e.Message}", e);
        }

        var layers = manifest.Manifest.Layers.Count;
        return config.RootFs.DiffIds.Count == layers
            ? config
            : throw new InvalidDataException($"config {descriptor.Digest} lists {config.RootFs.DiffIds.Count} diff IDs for the {layers} layers of manifest {manifest.Digest}");
    }
}
