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
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "only tree, repo, delta and meta layers are written"),
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
    /// What each of an image's layers holds: its <see cref="ImageAnnotationKeys.LayerKind"/>
    /// annotation, else (a registry that drops annotations, a re-pushed copy) the config
    /// label <see cref="ImageLabelKeys.RepoLayers"/>: listed layers hold repo content, the
    /// top layer is the meta layer, the others are tree layers. Without either a layer is
    /// <see cref="LayerKind.Unknown"/>.
    /// </summary>
    /// <param name="layers">The manifest's layers, bottom first.</param>
    /// <param name="labels">The config's labels.</param>
    /// <exception cref="InvalidDataException">The repo-layers label is malformed.</exception>
    public static LayerKind[] Classify(IReadOnlyList<Descriptor> layers, IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(labels);
        var repoIndexes = labels.TryGetValue(ImageLabelKeys.RepoLayers, out var text) ? RepoLayersLabel.Parse(text, layers.Count) : null;
        var kinds = new LayerKind[layers.Count];
        for (var i = 0; i < layers.Count; i++)
        {
            var annotated = FromAnnotation(layers[i].Annotation(ImageAnnotationKeys.LayerKind));
            kinds[i] = annotated != LayerKind.Unknown || repoIndexes is null ? annotated
                : i == layers.Count - 1 ? LayerKind.Meta
                : repoIndexes.Contains(i) ? LayerKind.Repo
                : LayerKind.Tree;
        }

        return kinds;
    }
}
