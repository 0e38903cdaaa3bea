using OstreeContainer.Errors;
using OstreeContainer.ImageBuilder.Derivation;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.ImageBuilder;

/// <summary>The commit an image is built from, read and verified.</summary>
/// <param name="Checksum">The commit's checksum.</param>
/// <param name="Ref">The ref the build was asked for; null when it was given a checksum.</param>
/// <param name="Commit">The parsed commit.</param>
/// <param name="Bytes">The commit object as stored (it hashes to <paramref name="Checksum"/>).</param>
/// <param name="Meta">The detached metadata (signatures), or null.</param>
/// <param name="Tree">The commit's tree, walked.</param>
internal sealed record SourceCommit(Checksum Checksum, string? Ref, Commit Commit, byte[] Bytes, byte[]? Meta, CommitTree Tree)
{
    /// <summary>
    /// Resolves <paramref name="rev"/> and reads and verifies its commit object alone (not
    /// its tree): enough to choose and start generating static deltas while the tree is walked.
    /// </summary>
    /// <exception cref="InvalidDataException">The commit object does not hash to its name.</exception>
    public static (Checksum Checksum, string? Ref, Commit Commit, byte[] Bytes, byte[]? Meta) ReadCommit(OstreeRepo repo, string rev)
    {
        var checksum = repo.ResolveRev(rev);
        var refName = Checksum.TryParse(rev, out _) ? null : rev;
        var bytes = repo.ReadMetadataBytes(checksum, ObjectType.Commit);
        var actual = Checksum.Compute(bytes);
        if (actual != checksum)
        {
            throw new InvalidDataException($"commit {checksum} is corrupt: it hashes to {actual}");
        }

        var commit = Commit.Parse(bytes);
        var meta = repo.TryReadMetadataBytes(checksum, ObjectType.CommitMeta);
        return (checksum, refName, commit, bytes, meta);
    }
}

/// <summary>
/// Counts the layers a build adds. The one place that knows the image's shape: tree and
/// repo chunks come in pairs (chunk i of the tree and the <c>.filez</c> of the objects
/// it introduces), then one layer per static delta, then the meta layer.
/// </summary>
internal static class LayerCount
{
    /// <summary>Layers per chunk: its tree layer and its repo layer.</summary>
    public const int PerChunk = 2;

    /// <summary>The meta layer (repo metadata, object map, webserver), always last.</summary>
    public const int Meta = 1;

    /// <summary>Layers of an image with <paramref name="chunks"/> chunks and <paramref name="deltas"/> static deltas.</summary>
    public static int Of(int chunks, int deltas) => (PerChunk * chunks) + deltas + Meta;

    /// <summary>The fewest layers a build with <paramref name="deltas"/> static deltas can have: one chunk.</summary>
    public static int Minimum(int deltas) => Of(1, deltas);

    /// <summary>The most chunks that fit in <paramref name="layers"/> layers beside the deltas and the meta layer.</summary>
    public static int ChunksWithin(int layers, int deltas) => (layers - Meta - deltas) / PerChunk;
}

/// <summary>
/// What one layer of the image holds, decided before any byte is written. Layers are
/// written in parallel from these; their order in the manifest is the plan's order.
/// </summary>
/// <param name="Kind">What it holds (the layer's kind annotation).</param>
/// <param name="Description">One line for logs and the image history.</param>
internal abstract record LayerPlan(LayerKind Kind, string Description)
{
    /// <summary>
    /// True when the payload is already compressed (<c>.filez</c> are DEFLATE streams,
    /// static delta parts are compressed too), so compressing it again buys little.
    /// </summary>
    public virtual bool Precompressed => false;
}

/// <summary>A tree chunk: a run of the checkout, in path order.</summary>
/// <param name="Description">One line for logs and the image history.</param>
/// <param name="Entries">The tree entries, in path order (a derived image keeps only those that differ from the base).</param>
/// <param name="Whiteouts">Base paths to delete, written before the entries (only ever in the first tree layer).</param>
internal sealed record TreeLayerPlan(string Description, IReadOnlyList<TreeEntry> Entries, IReadOnlyList<string> Whiteouts)
    : LayerPlan(LayerKind.Tree, Description);

/// <summary>A repo chunk: the <c>.filez</c> of each content object first used by the same chunk of the tree.</summary>
/// <param name="Description">One line for logs and the image history.</param>
/// <param name="Objects">The content objects, each in exactly one repo layer.</param>
/// <param name="FileBytes">Content bytes of the files of the whole tree chunk (before any derivation filter).</param>
internal sealed record RepoLayerPlan(string Description, IReadOnlyList<Checksum> Objects, long FileBytes)
    : LayerPlan(LayerKind.Repo, Description)
{
    /// <inheritdoc/>
    public override bool Precompressed => true;
}

/// <summary>One static delta that ends at the commit: carried from the source repo, or generated by the build.</summary>
/// <param name="Description">One line for logs and the image history.</param>
/// <param name="Delta">The delta and where its files come from.</param>
internal sealed record DeltaLayerPlan(string Description, PlannedDelta Delta)
    : LayerPlan(LayerKind.Delta, Description)
{
    /// <inheritdoc/>
    public override bool Precompressed => true;
}

/// <summary>The meta layer: repo metadata, refs, summary, delta indexes, the object map and the webserver.</summary>
/// <param name="Description">One line for logs and the image history.</param>
internal sealed record MetaLayerPlan(string Description) : LayerPlan(LayerKind.Meta, Description);

/// <summary>
/// The image a build will write: which layers, bottom to top, and what goes in each.
/// Made from the commit and the options alone, so the same input gives the same plan.
/// </summary>
/// <param name="Source">The commit.</param>
/// <param name="Deltas">Static deltas that end at the commit, in name order (carried and to generate).</param>
/// <param name="NoParentDelta">Why the default delta from the parent is not among them, for the log; else null.</param>
/// <param name="Chunks">How many chunks the tree was cut into (each has a repo layer; a derived image may drop empty tree layers).</param>
/// <param name="Layers">The layers this build adds: tree layers, repo layers, delta layers, the meta layer.</param>
/// <param name="Derivation">What differs from the base, for a derived build; else null.</param>
internal sealed record ImagePlan(
    SourceCommit Source,
    IReadOnlyList<PlannedDelta> Deltas,
    string? NoParentDelta,
    int Chunks,
    IReadOnlyList<LayerPlan> Layers,
    DerivationPlan? Derivation)
{
    /// <summary>Paths of the tree that go into the image (the root is implied).</summary>
    public int Paths => Source.Tree.Entries.Count(e => e.Path.Length > 0);

    /// <summary>Whiteouts for base paths the commit lacks.</summary>
    public IReadOnlyList<string> Whiteouts => Derivation?.Whiteouts ?? [];

    /// <summary>
    /// Plans the image of <paramref name="source"/>: chunks its tree, places each content
    /// object in the repo layer of the first chunk that uses it, adds a layer per delta of
    /// <paramref name="choice"/> and, with a base, keeps in the tree layers only what differs
    /// from it.
    /// </summary>
    /// <exception cref="UserInputException">The layer limits leave no room for one chunk (named in the message).</exception>
    public static ImagePlan Create(SourceCommit source, DeltaChoice choice, ImageBuildOptions options)
    {
        ArgumentNullException.ThrowIfNull(choice);
        var deltas = choice.Deltas;
        var minimum = LayerCount.Minimum(deltas.Count);
        var maxChunks = LayerCount.ChunksWithin(options.MaxLayers, deltas.Count);
        if (maxChunks < 1)
        {
            throw new UserInputException(
                $"--max-layers {options.MaxLayers} is too small: this commit needs at least {minimum} (one tree and one repo layer, {deltas.Count} delta layers and the meta layer)");
        }

        DerivationPlan? derivation = null;
        if (options.Base is { } baseImage)
        {
            // Overlay stacks at most MaxImageLayers: fewer chunks of our own when the base is deep.
            var baseLayers = baseImage.Layers.Count;
            var room = LayerCount.ChunksWithin(ImageBuildOptions.MaxImageLayers - baseLayers, deltas.Count);
            if (room < 1)
            {
                throw new UserInputException(
                    $"base image {baseImage.Reference} has {baseLayers} layers; with the {minimum} this commit needs at least, the image would have more than {ImageBuildOptions.MaxImageLayers}");
            }

            maxChunks = Math.Min(maxChunks, room);
            derivation = DerivationPlan.Compute(
                source.Tree, baseImage.Filesystem ?? throw new InvalidOperationException("read the base's filesystem (BaseImage.ReadFilesystemAsync) before building"));
        }

        var items = source.Tree.Entries.Where(e => e.Path.Length > 0).ToList();
        var assignment = Chunking.Assign(items.Select(e => (e.Path, e.Size)).ToList(), maxChunks);
        var chunks = assignment.Length == 0 ? 1 : assignment[^1] + 1;
        var treeChunks = Enumerable.Range(0, chunks).Select(_ => new List<TreeEntry>()).ToList();
        var repoChunks = Enumerable.Range(0, chunks).Select(_ => new List<Checksum>()).ToList();
        var placed = new HashSet<Checksum>();
        for (var i = 0; i < items.Count; i++)
        {
            treeChunks[assignment[i]].Add(items[i]);
            if (items[i].Kind != TreeEntryKind.Directory && placed.Add(items[i].Object))
            {
                repoChunks[assignment[i]].Add(items[i].Object);
            }
        }

        // Measured before a derivation filters the tree chunks: a repo layer always holds
        // its whole chunk's objects.
        var fileBytes = treeChunks.Select(chunk => chunk.Where(e => e.Kind == TreeEntryKind.File).Sum(e => e.Size)).ToList();
        IReadOnlyList<string> whiteouts = [];
        if (derivation is not null)
        {
            // Chunk membership stays that of the whole tree (the repo layers use it); a tree
            // chunk keeps only what differs from the base, and empty ones are left out.
            var changed = derivation.Changed.ToHashSet();
            treeChunks = treeChunks.Select(chunk => chunk.Where(changed.Contains).ToList()).Where(chunk => chunk.Count > 0).ToList();
            whiteouts = derivation.Whiteouts;
            if (treeChunks.Count == 0 && whiteouts.Count > 0)
            {
                treeChunks.Add([]);
            }
        }

        var layers = new List<LayerPlan>(LayerCount.Of(chunks, deltas.Count));

        // Whiteouts go first in the first tree layer: they must hide only the base, never our own entries.
        layers.AddRange(treeChunks.Select((chunk, c) => new TreeLayerPlan($"tree chunk {c + 1}/{treeChunks.Count}", chunk, c == 0 ? whiteouts : [])));
        layers.AddRange(repoChunks.Select((objects, c) => new RepoLayerPlan($"repo chunk {c + 1}/{chunks}", objects, fileBytes[c])));
        layers.AddRange(deltas.Select(delta => new DeltaLayerPlan($"static delta {delta.Name}", delta)));
        layers.Add(new MetaLayerPlan("repo metadata, object map, webserver"));
        return new ImagePlan(source, deltas, choice.NoParentReason, chunks, layers, derivation);
    }
}
