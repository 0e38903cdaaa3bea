using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;

namespace OstreeContainer.ImageFormat;

/// <summary>What a layer of an ostree-container image holds (annotation <see cref="ImageAnnotationKeys.LayerKind"/>).</summary>
public enum LayerKind
{
    /// <summary>Neither annotated nor classified by the repo-layers label: not part of this format (never written).</summary>
    Unknown,

    /// <summary>Part of the checked-out tree; a puller never fetches it.</summary>
    Tree,

    /// <summary><c>.filez</c> objects of <c>/ostree/repo</c>, for the tree chunk of the same number.</summary>
    Repo,

    /// <summary>One static delta of <c>/ostree/repo</c>; not needed to import a commit, so not fetched.</summary>
    Delta,

    /// <summary>Repo metadata (commit, commitmeta, dirtrees, dirmetas, refs, summary, config), the object map and the webserver.</summary>
    Meta,

    /// <summary>
    /// Not written by the builder: a layer stacked on an ostree-container image by another tool
    /// (buildah, podman, docker), or any layer of an image that is not an ostree-container image
    /// at all. Its tree is applied on top of the base commit (never annotated).
    /// </summary>
    Derived,
}

/// <summary>The three shapes of image a puller meets (<see cref="LayerKinds.ShapeOf"/>).</summary>
public enum ImageShape
{
    /// <summary>An ostree-container image as the builder wrote it: its commit is the content.</summary>
    OstreeContainer,

    /// <summary>An ostree-container image with <see cref="LayerKind.Derived"/> layers stacked on top.</summary>
    Derived,

    /// <summary>Any other image: every layer is <see cref="LayerKind.Derived"/>, there is no base commit.</summary>
    Plain,
}

/// <summary>The annotation values of <see cref="LayerKind"/>, and the one classifier of an image's layers.</summary>
public static class LayerKinds
{
    /// <summary>The annotation value of <paramref name="kind"/> (its name in lower case).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="LayerKind.Unknown"/>, which is never written.</exception>
    public static string ToAnnotation(LayerKind kind) => kind switch
    {
        LayerKind.Tree => "tree",
        LayerKind.Repo => "repo",
        LayerKind.Delta => "delta",
        LayerKind.Meta => "meta",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "only tree, repo, delta and meta layers are annotated"),
    };

    /// <summary>The kind an annotation value names, or <see cref="LayerKind.Unknown"/> (absent or unknown value).</summary>
    public static LayerKind FromAnnotation(string? value) => value switch
    {
        "tree" => LayerKind.Tree,
        "repo" => LayerKind.Repo,
        "delta" => LayerKind.Delta,
        "meta" => LayerKind.Meta,
        _ => LayerKind.Unknown,
    };

    /// <summary>
    /// What each of an image's layers holds. First, where the builder's layers end: the layer
    /// whose diff ID the config label <see cref="ImageLabelKeys.FinalDiffId"/> names (format 1.2),
    /// else the last layer with a <see cref="ImageAnnotationKeys.LayerKind"/> annotation, else
    /// (an image without either) the top layer when the config has <see cref="ImageLabelKeys.Commit"/>
    /// or <see cref="ImageLabelKeys.RepoLayers"/>; an image with none of these is not an
    /// ostree-container image and every layer is <see cref="LayerKind.Derived"/>. Layers above
    /// that end are <see cref="LayerKind.Derived"/> (buildah, podman and docker copy the base's
    /// labels and may drop its layer annotations). Up to the end, a layer's annotation decides,
    /// else the repo-layers label: listed layers hold repo content, the last of the builder's
    /// layers is the meta layer, the others are tree layers; without either a layer is
    /// <see cref="LayerKind.Unknown"/>.
    /// </summary>
    /// <param name="layers">The manifest's layers, bottom first.</param>
    /// <param name="diffIds">The config's <c>rootfs.diff_ids</c>, one per layer.</param>
    /// <param name="labels">The config's labels.</param>
    /// <exception cref="InvalidDataException">The repo-layers label is malformed, or the final-diffid label names no layer.</exception>
    public static LayerKind[] Classify(IReadOnlyList<Descriptor> layers, IReadOnlyList<Digest> diffIds, IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(diffIds);
        ArgumentNullException.ThrowIfNull(labels);
        if (diffIds.Count != layers.Count)
        {
            throw new InvalidDataException($"the config lists {diffIds.Count} diff_ids for {layers.Count} layers");
        }

        var end = LastOwnLayer(layers, diffIds, labels);
        var repoIndexes = end >= 0 && labels.TryGetValue(ImageLabelKeys.RepoLayers, out var text) ? RepoLayersLabel.Parse(text, end + 1) : null;
        var kinds = new LayerKind[layers.Count];
        for (var i = 0; i < layers.Count; i++)
        {
            var annotated = FromAnnotation(layers[i].Annotation(ImageAnnotationKeys.LayerKind));
            kinds[i] = i > end ? LayerKind.Derived
                : annotated != LayerKind.Unknown || repoIndexes is null ? annotated
                : i == end ? LayerKind.Meta
                : repoIndexes.Contains(i) ? LayerKind.Repo
                : LayerKind.Tree;
        }

        return kinds;
    }

    /// <summary>The shape of an image whose layers are <paramref name="kinds"/> (<see cref="Classify"/>).</summary>
    public static ImageShape ShapeOf(IReadOnlyList<LayerKind> kinds)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        return kinds.Count > 0 && kinds.All(k => k == LayerKind.Derived) ? ImageShape.Plain
            : kinds.Any(k => k == LayerKind.Derived) ? ImageShape.Derived
            : ImageShape.OstreeContainer;
    }

    /// <summary>How <see cref="ShapeOf"/> is named in output: <c>ostree-container</c>, <c>derived</c>, <c>plain</c>.</summary>
    public static string Describe(ImageShape shape) => shape switch
    {
        ImageShape.OstreeContainer => "ostree-container",
        ImageShape.Derived => "derived",
        ImageShape.Plain => "plain",
        _ => throw new ArgumentOutOfRangeException(nameof(shape), shape, null),
    };

    // The index of the builder's last layer, or -1 when the image is not an ostree-container image.
    private static int LastOwnLayer(IReadOnlyList<Descriptor> layers, IReadOnlyList<Digest> diffIds, IReadOnlyDictionary<string, string> labels)
    {
        if (labels.TryGetValue(ImageLabelKeys.FinalDiffId, out var final))
        {
            for (var i = layers.Count - 1; i >= 0; i--)
            {
                if (string.Equals(diffIds[i].ToString(), final, StringComparison.Ordinal))
                {
                    return i;
                }
            }

            throw new InvalidDataException($"label {ImageLabelKeys.FinalDiffId} is '{final}', the diff_id of no layer of the image");
        }

        for (var i = layers.Count - 1; i >= 0; i--)
        {
            if (layers[i].Annotation(ImageAnnotationKeys.LayerKind) is not null)
            {
                return i;
            }
        }

        return labels.ContainsKey(ImageLabelKeys.Commit) || labels.ContainsKey(ImageLabelKeys.RepoLayers) ? layers.Count - 1 : -1;
    }
}
