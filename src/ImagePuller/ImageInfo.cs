using System.Globalization;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ImagePuller;

/// <summary>One layer of an image: its descriptor, its diff_id from the config, and what it holds.</summary>
public sealed record ImageLayer(int Index, Descriptor Descriptor, Digest DiffId, LayerKind Kind);

/// <summary>
/// What an ostree-container image says about itself: manifest digest, config labels, the
/// commit it carries and its layers by kind. Everything here comes from the manifest and
/// config, both verified against their digests.
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
    /// <summary>Reads the manifest and config of an image from <paramref name="source"/>.</summary>
    /// <exception cref="InvalidDataException">The manifest or config is malformed or inconsistent.</exception>
    public static async Task<ImageInfo> ReadAsync(ImageSource source, Platform platform, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var manifest = await source.GetManifestAsync(platform, cancellationToken).ConfigureAwait(false);
        var configBytes = await source.ReadSmallBlobAsync(manifest.Manifest.Config, ImageSource.MaxConfigBytes, cancellationToken).ConfigureAwait(false);
        ImageConfig config;
        try
        {
            config = OciJson.ParseConfig(configBytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"config {manifest.Manifest.Config.Digest}: {e.Message}", e);
        }

        return From(manifest, config);
    }

    /// <summary>Combines a manifest and its config.</summary>
    public static ImageInfo From(SourceManifest manifest, ImageConfig config)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(config);
        var layers = manifest.Manifest.Layers;
        var diffIds = config.RootFs.DiffIds;
        if (diffIds.Count != layers.Count)
        {
            throw new InvalidDataException($"manifest {manifest.Digest} lists {layers.Count} layers but its config has {diffIds.Count} diff_ids");
        }

        var labels = (IReadOnlyDictionary<string, string>?)config.Config?.Labels ?? new Dictionary<string, string>();
        var repoIndexes = ParseRepoLayers(labels, layers.Count);
        var result = new List<ImageLayer>(layers.Count);
        for (var i = 0; i < layers.Count; i++)
        {
            result.Add(new ImageLayer(i, layers[i], diffIds[i], KindOf(layers[i], i, repoIndexes, layers.Count)));
        }

        Checksum? commit = null;
        if (labels.TryGetValue(ImageFormat.CommitLabel, out var text))
        {
            commit = Checksum.TryParse(text, out var parsed)
                ? parsed
                : throw new InvalidDataException($"label {ImageFormat.CommitLabel} is '{text}', not a commit checksum");
        }

        return new ImageInfo(
            manifest.Digest,
            manifest.Manifest.MediaType ?? MediaTypes.OciManifest,
            labels,
            commit,
            labels.TryGetValue(ImageFormat.RefLabel, out var refName) ? refName : null,
            labels.TryGetValue(ImageFormat.VersionLabel, out var version) ? version : null,
            result);
    }

    private static LayerKind KindOf(Descriptor layer, int index, HashSet<int>? repoIndexes, int count)
    {
        switch (layer.Annotation(ImageFormat.LayerKindAnnotation))
        {
            case "tree":
                return LayerKind.Tree;
            case "repo":
                return LayerKind.Repo;
            case "delta":
                return LayerKind.Delta;
            case "meta":
                return LayerKind.Meta;
        }

        // Without annotations (a registry that drops them, or a re-pushed copy), the config
        // label still says which layers hold repo content; the top one is the meta layer.
        if (repoIndexes is null)
        {
            return LayerKind.Unknown;
        }

        return index == count - 1 ? LayerKind.Meta : repoIndexes.Contains(index) ? LayerKind.Repo : LayerKind.Tree;
    }

    private static HashSet<int>? ParseRepoLayers(IReadOnlyDictionary<string, string> labels, int count)
    {
        if (!labels.TryGetValue(ImageFormat.RepoLayersLabel, out var text))
        {
            return null;
        }

        var result = new HashSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index >= count)
            {
                throw new InvalidDataException($"label {ImageFormat.RepoLayersLabel} is '{text}': '{part}' is not a layer index below {count}");
            }

            result.Add(index);
        }

        return result;
    }
}
