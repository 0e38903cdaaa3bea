using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Sources;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ImagePuller;

/// <summary>One layer of an image: its descriptor, its diff_id from the config, and what it holds.</summary>
public sealed record ImageLayer(int Index, Descriptor Descriptor, Digest DiffId, LayerKind Kind);

/// <summary>
/// What an ostree-container image says about itself: manifest digest, config labels, the
/// commit it carries and its layers by kind (<see cref="LayerKinds.Classify"/>). Everything
/// here comes from the manifest and config, both verified against their digests and checked
/// by the <see cref="ImageSource"/>.
/// </summary>
public sealed record ImageInfo(
    Digest ManifestDigest,
    string ManifestMediaType,
    IReadOnlyDictionary<string, string> Labels,
    Checksum? Commit,
    string? Ref,
    string? Version,
    IReadOnlyList<ImageLayer> Layers)
{
    /// <summary>Which of the three shapes the image has (<see cref="LayerKinds.ShapeOf"/>).</summary>
    public ImageShape Shape => LayerKinds.ShapeOf([.. Layers.Select(l => l.Kind)]);

    /// <summary>The layers stacked on the base (a derived image) or every layer (a plain image), bottom first.</summary>
    public IReadOnlyList<ImageLayer> DerivedLayers => [.. Layers.Where(l => l.Kind == LayerKind.Derived)];

    /// <summary>The manifest as served (its digest is <see cref="ManifestDigest"/>).</summary>
    public byte[] ManifestBytes { get; init; } = [];

    /// <summary>The config as served (its digest is the manifest's config descriptor's).</summary>
    public byte[] ConfigBytes { get; init; } = [];

    /// <summary>The config's <c>created</c> time as written (RFC 3339), if any.</summary>
    public string? Created { get; init; }

    /// <summary>The commit the builder's layers carry: <see cref="Commit"/>, or null for a plain image.</summary>
    public Checksum? BaseCommit => Shape == ImageShape.Plain ? null : Commit;

    /// <summary>Reads the manifest and config of an image from <paramref name="source"/>.</summary>
    /// <exception cref="InvalidDataException">The manifest or config is malformed or inconsistent.</exception>
    public static async Task<ImageInfo> ReadAsync(ImageSource source, Platform platform, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var manifest = await source.ResolveManifestAsync(platform, cancellationToken).ConfigureAwait(false);
        var configBytes = await source.ReadBlobAsync(manifest.Manifest.Config, OciJson.MaxDocumentBytes, cancellationToken).ConfigureAwait(false);
        var config = ImageChecks.ParseConfig(configBytes, manifest);
        return From(manifest, config) with { ManifestBytes = manifest.Bytes, ConfigBytes = configBytes, Created = config.Created };
    }

    // The source checked that the config lists one diff_id per layer (ImageChecks.ParseConfig).
    private static ImageInfo From(SourceManifest manifest, ImageConfig config)
    {
        var diffIds = config.RootFs.DiffIds;
        var labels = (IReadOnlyDictionary<string, string>?)config.Config?.Labels ?? new Dictionary<string, string>();
        // A derived image's copy of our labels names the delta layers its builder dropped the annotations of.
        var layers = DeltaLayerAnnotations.Restore(manifest.Manifest.Layers, diffIds, labels);
        var kinds = LayerKinds.Classify(layers, diffIds, labels);
        var result = new List<ImageLayer>(layers.Count);
        for (var i = 0; i < layers.Count; i++)
        {
            result.Add(new ImageLayer(i, layers[i], diffIds[i], kinds[i]));
        }

        Checksum? commit = null;
        if (labels.TryGetValue(ImageLabelKeys.Commit, out var text))
        {
            commit = Checksum.TryParse(text, out var parsed)
                ? parsed
                : throw new InvalidDataException($"label {ImageLabelKeys.Commit} is '{text}', not a commit checksum");
        }

        return new ImageInfo(
            manifest.Digest,
            manifest.Manifest.MediaType ?? MediaTypes.OciManifest,
            labels,
            commit,
            labels.TryGetValue(ImageLabelKeys.Ref, out var refName) ? refName : null,
            labels.TryGetValue(ImageLabelKeys.Version, out var version) ? version : null,
            result);
    }
}
