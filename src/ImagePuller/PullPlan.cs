using OstreeContainer.ImageFormat;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.ImagePuller;

/// <summary>How a pull brings an image's commit into a repository.</summary>
public enum PullPath
{
    /// <summary>The ref already holds this image: nothing is fetched.</summary>
    UpToDate,

    /// <summary>One delta layer is fetched and applied (config plus that layer, nothing else).</summary>
    Delta,

    /// <summary>The meta layer and the repo layers the repository lacks are fetched and imported.</summary>
    Layers,
}

/// <summary>A delta layer of an image and what its annotations say about it.</summary>
/// <param name="Layer">The layer.</param>
/// <param name="Info">Its annotations (format 1.1): from, to, size.</param>
public sealed record DeltaLayer(ImageLayer Layer, DeltaLayerInfo Info)
{
    /// <summary>The delta's name as a checksum pair.</summary>
    public DeltaName Name => new(Info.From is null ? null : Checksum.Parse(Info.From), Checksum.Parse(Info.To));
}

/// <summary>
/// Which path a pull into a repository takes, and what it would fetch. Made from the manifest
/// and config alone (no layer is read) and the repository's refs and commits; used by
/// <c>pull</c>, and by <c>inspect --repo</c> to say what a pull would do.
/// </summary>
/// <param name="Path">The path chosen.</param>
/// <param name="Delta">The delta layer applied on the <see cref="PullPath.Delta"/> path, else null.</param>
/// <param name="Reason">Why the <see cref="PullPath.Layers"/> path was chosen (no delta fits), else null.</param>
/// <param name="BytesToFetch">Layer blob bytes the path fetches (the config, already read, not counted).</param>
/// <param name="LayersToFetch">The layers the path fetches.</param>
/// <param name="Deltas">Every annotated delta layer of the image.</param>
public sealed record PullPlan(PullPath Path, DeltaLayer? Delta, string? Reason, long BytesToFetch, IReadOnlyList<ImageLayer> LayersToFetch, IReadOnlyList<DeltaLayer> Deltas)
{
    /// <summary>
    /// The annotated delta layers of <paramref name="info"/> (format 1.1). Delta layers of a
    /// format 1.0 image carry no annotations and are never applied.
    /// </summary>
    /// <exception cref="InvalidDataException">A delta layer's annotations are partial or malformed.</exception>
    public static IReadOnlyList<DeltaLayer> DeltaLayers(ImageInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var result = new List<DeltaLayer>();
        foreach (var layer in info.Layers.Where(l => l.Kind == LayerKind.Delta))
        {
            if (DeltaLayerAnnotations.Read(layer.Descriptor) is { } delta)
            {
                result.Add(new DeltaLayer(layer, delta));
            }
        }

        return result;
    }

    /// <summary>
    /// Chooses the path a pull of <paramref name="info"/> into <paramref name="repo"/> (ref
    /// <paramref name="refName"/>, whose pull state is <paramref name="state"/>) takes: a delta
    /// layer that ends at the image's commit and starts from a commit the repository holds
    /// (the ref's current commit first, else the smallest), never a from-scratch delta (a
    /// first pull imports repo layers, which costs less than inflating xz); else the layers.
    /// </summary>
    /// <exception cref="InvalidDataException">The image has no commit label, or malformed delta annotations.</exception>
    public static PullPlan Choose(ImageInfo info, OstreeRepo repo, string refName, PullState? state)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(refName);
        var commit = info.Commit ?? throw new InvalidDataException($"manifest {info.ManifestDigest} has no {ImageLabelKeys.Commit} label: not an ostree-container image");
        var deltas = DeltaLayers(info);
        Checksum? current = repo.TryResolveRev(refName, out var resolved) ? resolved : null;
        if (state is not null && state.Manifest == info.ManifestDigest.ToString() && state.Commit == commit.ToString()
            && current == commit && repo.HasObject(commit, ObjectType.Commit))
        {
            return new PullPlan(PullPath.UpToDate, null, null, 0, [], deltas);
        }

        var toCommit = commit.ToString();
        var candidates = deltas.Where(d => d.Info.To == toCommit && d.Info.From is not null).ToList();
        var fits = candidates.Where(d => HoldsCommit(repo, Checksum.Parse(d.Info.From!))).ToList();
        var chosen = fits.FirstOrDefault(d => current is { } c && d.Info.From == c.ToString())
            ?? fits.OrderBy(d => d.Layer.Descriptor.Size).ThenBy(d => d.Layer.Index).FirstOrDefault();
        if (chosen is not null)
        {
            return new PullPlan(PullPath.Delta, chosen, null, chosen.Layer.Descriptor.Size, [chosen.Layer], deltas);
        }

        var layers = LayersPath(info, state);
        return new PullPlan(PullPath.Layers, null, NoDeltaReason(info, deltas, candidates), layers.Sum(l => l.Descriptor.Size), layers, deltas);
    }

    /// <summary>
    /// The layers the <see cref="PullPath.Layers"/> path fetches: the meta layer and each repo
    /// layer (once per digest) the pull state does not record as imported.
    /// </summary>
    public static IReadOnlyList<ImageLayer> LayersPath(ImageInfo info, PullState? state)
    {
        ArgumentNullException.ThrowIfNull(info);
        var imported = state?.LayerSet() ?? [];
        return
        [
            .. info.Layers.Where(l => l.Kind == LayerKind.Meta).TakeLast(1),
            .. info.Layers.Where(l => l.Kind == LayerKind.Repo).DistinctBy(l => l.Descriptor.Digest).Where(l => !imported.Contains(l.Descriptor.Digest)),
        ];
    }

    /// <summary>
    /// Whether the repository holds <paramref name="commit"/> completely, as far as can be
    /// told without a walk: the commit object is there and ostree's partial-commit marker
    /// (<c>state/COMMIT.commitpartial</c>) is not. A commit that is missing objects all the
    /// same makes the delta fail verification, and the pull falls back to the layers.
    /// </summary>
    public static bool HoldsCommit(OstreeRepo repo, Checksum commit)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return repo.HasObject(commit, ObjectType.Commit)
            && !File.Exists(System.IO.Path.Combine(repo.Root, "state", $"{commit}.commitpartial"));
    }

    private static string NoDeltaReason(ImageInfo info, IReadOnlyList<DeltaLayer> deltas, List<DeltaLayer> candidates)
    {
        var deltaLayers = info.Layers.Count(l => l.Kind == LayerKind.Delta);
        if (deltaLayers == 0)
        {
            return "the image carries no delta";
        }

        if (deltas.Count == 0)
        {
            return $"the image is format {FormatVersion.Of(info.Labels)}: its delta layers are not annotated";
        }

        if (candidates.Count == 0)
        {
            return deltas.Any(d => d.Info.To == info.Commit.ToString() && d.Info.From is null)
                ? "the image's only delta to its commit is from scratch (repo layers cost less to import)"
                : "no delta in the image ends at its commit";
        }

        return "no delta in the image starts from a commit this repository has";
    }
}
