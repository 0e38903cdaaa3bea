using System.Globalization;
using System.Text;
using OstreeContainer.Errors;
using OstreeContainer.ImageFormat;
using OstreeContainer.ImagePuller.Derived;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Layers;
using OstreeContainer.Oci.Sources;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;
using OstreeContainer.Ostree.Trees;

namespace OstreeContainer.ImagePuller;

/// <summary>
/// The pull of a derived image (an ostree-container image with layers stacked on it) or a
/// plain image (no ostree-container layers at all). The base commit, if any, is imported as
/// any ostree-container image's commit (verified, no ref); then each derived layer is applied
/// in order (<see cref="LayerApplier"/>) onto the base's tree, and a new commit, whose parent
/// is the base commit, records the image. The tree after each layer is kept as a commit under
/// a chain ref (<c>ostree-container/chain/HEX</c>, HEX naming the base and every layer up to
/// it), so a later image that shares the base and its lower layers fetches only the layers
/// above them.
/// </summary>
public static partial class ImageImporter
{
    /// <summary>The ref namespace of the per-layer-chain commits.</summary>
    public const string ChainRefPrefix = "ostree-container/chain/";

    // The root of a plain image whose first layer has no root entry: 0755 root:root.
    private static readonly DirMeta DefaultRootMeta = new(0, 0, StatMode.Directory | 0x1ED, []);

    private static async Task<PullResult> PullDerivedAsync(
        ImagePullOptions options, OstreeRepo repo, ImageSource source, ImageInfo info, SignaturePolicy? policy, Action<PullProgress> report, CancellationToken cancellationToken)
    {
        var shape = info.Shape;
        var derived = info.DerivedLayers;
        var baseCommit = info.BaseCommit;
        var pinned = options.Image.Digest is not null;
        var what = shape == ImageShape.Plain
            ? $"the image is not an ostree-container image (a plain image): its {Plural(derived.Count, "layer")} carry no OSTree signature"
            : $"the image is derived from ostree-container commit {baseCommit}: its {Plural(derived.Count, "layer")} on top carry no OSTree signature";
        if (!pinned && !options.Trust.InsecureNoSignature)
        {
            throw new UserInputException(options.Image.Transport == ImageTransport.Registry
                ? $"{what}; pin the image by digest (docker://{options.Image.Registry}/{options.Image.Repository}@sha256:…) or pass --insecure-no-signature"
                : $"{what}; an image in a local {(options.Image.Transport == ImageTransport.OciLayout ? "layout" : "archive")} cannot be pinned by digest: pass --insecure-no-signature to import it");
        }

        if (!options.SetRef)
        {
            throw new NotSupportedException($"{what}; only an ostree-container image's commit can be imported without a ref");
        }

        var refText = options.Ref ?? (shape == ImageShape.Derived ? info.Ref : null)
            ?? throw new UserInputException(shape == ImageShape.Plain
                ? "the image is a plain image (no ostree labels), so it names no ref: name one with --ref"
                : $"the image has no {ImageLabelKeys.Ref} label; name the ref with --ref");
        var refName = RefName.Head(refText);
        var trust = options.Trust.InsecureNoSignature ? CommitMetadataKeys.TrustInsecure : CommitMetadataKeys.TrustDigestPinned;
        report(new PullProgress(PullStage.Plan, null, null, 0, 0,
            $"image shape: {LayerKinds.Describe(shape)}; {derived.Count} layers to apply on {(baseCommit is null ? "an empty tree" : $"base commit {baseCommit}")}, trusted as {trust}"));

        var state = PullState.TryLoad(repo.Root, refText);
        if (DerivedUpToDate(repo, refText, state, info) is { } current)
        {
            report(new PullProgress(PullStage.Done, null, null, 0, 0, $"{refText} is already at {current} ({info.ManifestDigest})"));
            return new PullResult(current.ToString(), refText, info.ManifestDigest, true, 0, 0, 0, 0, policy is not null, null, PullPath.UpToDate,
                Shape: shape, BaseCommit: baseCommit?.ToString(), DerivedLayers: derived.Count, Dropped: ReadDropped(repo, current));
        }

        // Which layers an earlier pull already applied on this very base and lower layers.
        var chains = ChainIds(baseCommit, derived);
        var (resumeAt, resumeFrom) = ResumePoint(repo, chains);

        var run = new PullRun(options, source, new BlobCache(repo.Root), report);
        var toApply = derived.Skip(resumeAt).ToList();
        foreach (var layer in derived.Take(resumeAt))
        {
            report(new PullProgress(PullStage.Skip, layer.Descriptor.Digest.ToString(), LayerKind.Derived, 0, layer.Descriptor.Size, $"layer {layer.Index}: applied by an earlier pull on the same base and layers"));
        }

        using var downloads = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            // Derived layers download while the base commit is imported.
            foreach (var layer in toApply)
            {
                _ = run.Fetch(layer, downloads.Token);
            }

            // Before the base commit becomes visible, every layer to apply is read through once
            // for what refuses it whatever the tree, so such a layer leaves the repo as it was.
            async Task CheckLayersAsync()
            {
                long entries = 0;
                foreach (var layer in toApply)
                {
                    await run.Fetch(layer, cancellationToken).ConfigureAwait(false);
                    using var blob = await run.OpenVerifiedAsync(layer, cancellationToken).ConfigureAwait(false);
                    entries = WithLayerContext(layer, () =>
                    {
                        using var reader = LayerArchive.Open(blob, layer.Descriptor.MediaType, leaveOpen: true);
                        var counted = LayerApplier.Check(reader, repo.Root, options.Limits, entries, cancellationToken);
                        reader.ReadToEndAndCheckDiffId(layer.DiffId);
                        Drain(blob);
                        return counted;
                    });
                }
            }

            var baseResult = baseCommit is { } b
                ? await ImportBaseAsync(options, repo, source, info, b, state, policy, CheckLayersAsync, report, cancellationToken).ConfigureAwait(false)
                : null;
            return await ApplyDerivedAsync(options, repo, info, derived, chains, resumeAt, resumeFrom, refText, refName, state, trust, baseResult, run, report, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await downloads.CancelAsync().ConfigureAwait(false);
            await run.SettleAsync().ConfigureAwait(false);
            throw;
        }
    }

    // The base commit, verified: taken as it is when the repository holds it whole (its
    // signature checked again from the commitmeta stored beside it), else imported by delta
    // or repo layers with no ref.
    private static async Task<PullResult> ImportBaseAsync(
        ImagePullOptions options, OstreeRepo repo, ImageSource source, ImageInfo info, Checksum baseCommit, PullState? state, SignaturePolicy? policy,
        Func<Task> beforeImport, Action<PullProgress> report, CancellationToken cancellationToken)
    {
        if (HoldsWhole(repo, baseCommit) && VerifyHeld(repo, baseCommit, policy, options.TimeProvider, report) is { } held)
        {
            report(new PullProgress(PullStage.Skip, null, null, 0, 0, $"base commit {baseCommit} is here already{(held.SignedBy is null ? "" : $", signed by {held.SignedBy}")}"));
            return new PullResult(baseCommit.ToString(), baseCommit.ToString(), info.ManifestDigest, true, 0, 0, 0, 0, policy is not null, held.SignedBy, PullPath.UpToDate, BaseCommit: baseCommit.ToString());
        }

        await beforeImport().ConfigureAwait(false);
        // The ref's state names the repo layers the previous base brought: an unchanged one is not fetched again.
        return await ImportCommitAsync(options with { SetRef = false }, repo, source, OwnLayers(info), baseCommit, baseCommit.ToString(), state, policy, report, cancellationToken).ConfigureAwait(false);
    }

    // A held base commit's signature, checked again from the commitmeta stored beside it; null
    // when it does not verify here (e.g. imported unsigned), so it is imported from the image.
    private static (string? SignedBy, bool Verified)? VerifyHeld(OstreeRepo repo, Checksum commit, SignaturePolicy? policy, TimeProvider timeProvider, Action<PullProgress> report)
    {
        if (policy is null)
        {
            return (null, false);
        }

        try
        {
            return (SignedBy(CommitSignatures.Verify(commit, repo.ReadMetadataBytes(commit, ObjectType.Commit), repo.ReadCommitMeta(commit), policy, timeProvider)), true);
        }
        catch (SignatureVerificationException e)
        {
            report(new PullProgress(PullStage.Verify, null, null, 0, 0, $"base commit {commit.ToShortString()} is here but its stored signature does not verify ({e.Message.ReplaceLineEndings(" ")}); importing it from the image"));
            return null;
        }
    }

    private static async Task<PullResult> ApplyDerivedAsync(
        ImagePullOptions options, OstreeRepo repo, ImageInfo info, IReadOnlyList<ImageLayer> derived, IReadOnlyList<Digest> chains, int resumeAt, Checksum? resumeFrom,
        string refText, RefName refName, PullState? state, string trust, PullResult? baseResult, PullRun run, Action<PullProgress> report, CancellationToken cancellationToken)
    {
        var baseCommit = info.BaseCommit;
        var dropped = new SortedDictionary<string, long>(StringComparer.Ordinal);
        MutableTree tree;
        Checksum rootTree, rootMeta;
        if (resumeFrom is { } cached)
        {
            var chainCommit = repo.ReadCommit(cached);
            (rootTree, rootMeta) = (chainCommit.RootTree, chainCommit.RootMeta);
            AddDropped(dropped, chainCommit.Metadata.GetString(CommitMetadataKeys.Dropped));
            tree = MutableTree.FromCommit(repo, cached);
        }
        else if (baseCommit is { } b)
        {
            var parsed = repo.ReadCommit(b);
            (rootTree, rootMeta) = (parsed.RootTree, parsed.RootMeta);
            tree = MutableTree.FromCommit(repo, b);
        }
        else
        {
            (rootTree, rootMeta) = (default, default);
            tree = MutableTree.Empty(DefaultRootMeta);
        }

        using var transaction = repo.BeginTransaction();
        var applier = new LayerApplier(transaction, tree, options.Limits);
        for (var i = resumeAt; i < derived.Count; i++)
        {
            var layer = derived[i];
            await run.Fetch(layer, cancellationToken).ConfigureAwait(false);
            report(new PullProgress(PullStage.Import, layer.Descriptor.Digest.ToString(), LayerKind.Derived, 0, layer.Descriptor.Size, $"layer {layer.Index}: applying ({layer.Descriptor.Size} bytes)"));
            using (var blob = await run.OpenVerifiedAsync(layer, cancellationToken).ConfigureAwait(false))
            {
                WithLayerContext(layer, () =>
                {
                    using var reader = LayerArchive.Open(blob, layer.Descriptor.MediaType, leaveOpen: true);
                    applier.Apply(reader, cancellationToken);
                    reader.ReadToEndAndCheckDiffId(layer.DiffId);
                    Drain(blob);
                    return 0;
                });
            }

            (rootTree, rootMeta) = tree.Write(transaction);
            var layerDropped = new SortedDictionary<string, long>(dropped, StringComparer.Ordinal);
            AddDropped(layerDropped, applier.Dropped);
            var chainMetadata = new VariantDictionary();
            chainMetadata.Set(CommitMetadataKeys.BaseCommit, Variant.FromString(baseCommit?.ToString() ?? ""));
            chainMetadata.Set(CommitMetadataKeys.DerivedLayers, Variant.FromString(string.Join(',', derived.Take(i + 1).Select(l => l.DiffId.ToString()))));
            chainMetadata.Set(CommitMetadataKeys.Dropped, Variant.FromString(FormatDropped(layerDropped)));
            var chainCommit = new Commit(chainMetadata, null, [], $"ostree-container layer chain {chains[i]}", "", 0, rootTree, rootMeta);
            transaction.SetRef(RefName.Head(ChainRefPrefix + chains[i].Hex), transaction.WriteMetadata(ObjectType.Commit, chainCommit.Serialize()));
        }

        AddDropped(dropped, applier.Dropped);
        var metadata = new VariantDictionary();
        metadata.Set(CommitMetadataKeys.ManifestDigest, Variant.FromString(info.ManifestDigest.ToString()));
        metadata.Set(CommitMetadataKeys.Manifest, Variant.FromString(Encoding.UTF8.GetString(info.ManifestBytes)));
        metadata.Set(CommitMetadataKeys.ImageConfig, Variant.FromString(Encoding.UTF8.GetString(info.ConfigBytes)));
        if (baseCommit is not null)
        {
            metadata.Set(CommitMetadataKeys.BaseCommit, Variant.FromString(baseCommit.Value.ToString()));
            metadata.Set(CommitMetadataKeys.BaseSignedBy, Variant.FromString(baseResult?.SignedBy ?? CommitMetadataKeys.TrustInsecure));
        }

        metadata.Set(CommitMetadataKeys.DerivedTrust, Variant.FromString(trust));
        metadata.Set(CommitMetadataKeys.DerivedLayers, Variant.FromString(string.Join(',', derived.Select(l => l.DiffId.ToString()))));
        metadata.Set(CommitMetadataKeys.Dropped, Variant.FromString(FormatDropped(dropped)));
        if (info.Version is { } version)
        {
            metadata.Set(Commit.VersionKey, Variant.FromString(version));
        }

        var commit = new Commit(metadata, baseCommit, [], $"{LayerKinds.Describe(info.Shape)} image {info.ManifestDigest}", "", CommitTime(info, repo, baseCommit), rootTree, rootMeta);
        var checksum = transaction.WriteMetadata(ObjectType.Commit, commit.Serialize());
        transaction.SetRef(refName, checksum);
        var chainRefs = chains.Select(c => ChainRefPrefix + c.Hex).ToList();
        foreach (var stale in state?.Chains ?? [])
        {
            // Chains of the image this ref held before and not of this one: nothing will resume from them.
            if (!chainRefs.Contains(stale, StringComparer.Ordinal) && repo.TryResolveRev(stale, out _))
            {
                transaction.SetRef(RefName.Head(stale), null);
            }
        }

        var written = transaction.StagedCount;
        report(new PullProgress(PullStage.Commit, null, null, 0, 0, $"writing {written} objects, then ref {refText}"));
        run.Cache.Remove(derived.Select(l => l.Descriptor.Digest));
        transaction.Commit();
        new PullState
        {
            Image = options.Image.ToString(),
            Manifest = info.ManifestDigest.ToString(),
            Commit = checksum.ToString(),
            // The base commit is complete here, so every repo layer of the base is imported.
            Layers = [.. info.Layers.Where(l => l.Kind == LayerKind.Repo).Select(l => l.Descriptor.Digest.ToString()).Distinct()],
            Chains = chainRefs,
        }.Save(repo.Root, refText);

        var bytes = run.BytesTransferred + (baseResult?.BytesTransferred ?? 0);
        var dropText = dropped.Count == 0 ? "" : $"; dropped {FormatDropped(dropped).Replace(",", ", ", StringComparison.Ordinal)}";
        report(new PullProgress(PullStage.Done, null, null, bytes, bytes,
            $"{refText} => {checksum}: {derived.Count - resumeAt} layers applied ({resumeAt} from an earlier pull) on {(baseCommit is null ? "an empty tree" : baseCommit.ToString())}, {written} objects written, {bytes} bytes fetched{dropText}"));
        return new PullResult(checksum.ToString(), refText, info.ManifestDigest, false,
            run.Fetched.Count + (baseResult?.LayersFetched ?? 0), resumeAt + (baseResult?.LayersSkipped ?? 0), bytes, written + (baseResult?.ObjectsWritten ?? 0),
            baseResult?.SignatureVerified ?? false, baseResult?.SignedBy, baseResult?.Path ?? PullPath.Layers, baseResult?.Delta, baseResult?.FallbackReason,
            info.Shape, baseCommit?.ToString(), derived.Count, dropped);
    }

    // The ref's commit when it already holds this very manifest (its pull state says so), else null.
    private static Checksum? DerivedUpToDate(OstreeRepo repo, string refText, PullState? state, ImageInfo info) =>
        state is not null && state.Manifest == info.ManifestDigest.ToString()
            && repo.TryResolveRev(refText, out var current) && current.ToString() == state.Commit && repo.HasObject(current, ObjectType.Commit)
            ? current
            : null;

    // The repository holds the commit and every object of its tree.
    private static bool HoldsWhole(OstreeRepo repo, Checksum commit) => PullPlan.HoldsCommit(repo, commit) && FirstMissing(repo, commit) is null;

    // The image without its derived layers: what the base commit is imported from.
    private static ImageInfo OwnLayers(ImageInfo info) => info with { Layers = [.. info.Layers.Where(l => l.Kind != LayerKind.Derived)] };

    // The highest chain an earlier pull left (a chain ref whose commit is here): how many
    // derived layers are applied already, and the commit of the tree after them.
    private static (int Applied, Checksum? Tree) ResumePoint(OstreeRepo repo, IReadOnlyList<Digest> chains)
    {
        for (var i = chains.Count - 1; i >= 0; i--)
        {
            if (repo.TryResolveRev(ChainRefPrefix + chains[i].Hex, out var cached) && repo.HasObject(cached, ObjectType.Commit))
            {
                return (i + 1, cached);
            }
        }

        return (0, null);
    }

    private static string Plural(int count, string noun) => $"{count} {noun}{(count == 1 ? "" : "s")}";

    // What a pull of a derived or plain image would fetch: the base commit's path (nothing
    // when the repository holds it whole) and the derived layers no earlier pull applied.
    private static PullPlan PlanDerived(ImageInfo info, OstreeRepo repo, string? refName)
    {
        var refText = refName ?? (info.Shape == ImageShape.Derived ? info.Ref : null);
        var state = refText is null ? null : PullState.TryLoad(repo.Root, refText);
        var ours = OwnLayers(info);
        var deltas = PullPlan.DeltaLayers(ours);
        if (refText is not null && DerivedUpToDate(repo, refText, state, info) is not null)
        {
            return new PullPlan(PullPath.UpToDate, null, null, 0, [], deltas);
        }

        PullPlan? basePlan = null;
        if (info.BaseCommit is { } b && !HoldsWhole(repo, b))
        {
            basePlan = PullPlan.Choose(ours, repo, b.ToString(), state);
        }

        var derived = info.DerivedLayers;
        var chains = ChainIds(info.BaseCommit, derived);
        var (cachedUpTo, _) = ResumePoint(repo, chains);

        var toApply = derived.Skip(cachedUpTo).DistinctBy(l => l.Descriptor.Digest).ToList();
        var baseText = info.BaseCommit is null ? "no base commit"
            : basePlan is null ? $"base commit {info.BaseCommit.Value.ToShortString()} is here"
            : basePlan.Path == PullPath.Delta ? $"base commit by delta {Describe(basePlan.Delta!.Info)}"
            : $"base commit by repo layers ({basePlan.Reason})";
        return new PullPlan(
            basePlan?.Path == PullPath.Delta ? PullPath.Delta : PullPath.Layers,
            basePlan?.Delta,
            $"{LayerKinds.Describe(info.Shape)} image: {baseText}; {toApply.Count} of {derived.Count} derived layers to apply",
            (basePlan?.BytesToFetch ?? 0) + toApply.Sum(l => l.Descriptor.Size),
            [.. basePlan?.LayersToFetch ?? [], .. toApply],
            deltas);
    }

    /// <summary>
    /// The chain ID of each derived layer, as OCI defines it over diff IDs, but rooted at the
    /// base commit (or "plain"): the tree after layer i depends on the base and on every layer
    /// up to i, hard links to lower files included.
    /// </summary>
    internal static IReadOnlyList<Digest> ChainIds(Checksum? baseCommit, IReadOnlyList<ImageLayer> derived)
    {
        var chain = Digest.Compute(Encoding.UTF8.GetBytes($"ostree-container chain {baseCommit?.ToString() ?? "plain"}"));
        var result = new List<Digest>(derived.Count);
        foreach (var layer in derived)
        {
            chain = Digest.Compute(Encoding.UTF8.GetBytes($"{chain} {layer.DiffId}"));
            result.Add(chain);
        }

        return result;
    }

    // The config's created time, else the base commit's, else 0: the same image gives the same commit.
    private static ulong CommitTime(ImageInfo info, OstreeRepo repo, Checksum? baseCommit)
    {
        if (info.Created is { } created && DateTimeOffset.TryParse(created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) && time.ToUnixTimeSeconds() > 0)
        {
            return (ulong)time.ToUnixTimeSeconds();
        }

        return baseCommit is { } b ? repo.ReadCommit(b).Timestamp : 0;
    }

    private static IReadOnlyDictionary<string, long> ReadDropped(OstreeRepo repo, Checksum commit)
    {
        var result = new SortedDictionary<string, long>(StringComparer.Ordinal);
        AddDropped(result, repo.ReadCommit(commit).Metadata.GetString(CommitMetadataKeys.Dropped));
        return result;
    }

    private static void AddDropped(SortedDictionary<string, long> into, IReadOnlyDictionary<string, long> counts)
    {
        foreach (var (reason, count) in counts)
        {
            into[reason] = into.GetValueOrDefault(reason) + count;
        }
    }

    private static void AddDropped(SortedDictionary<string, long> into, string? text)
    {
        foreach (var pair in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.LastIndexOf('=');
            if (eq > 0 && long.TryParse(pair.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                into[pair[..eq]] = into.GetValueOrDefault(pair[..eq]) + count;
            }
        }
    }

    /// <summary>Drop counts as <c>REASON=COUNT</c> pairs, comma-separated, sorted by reason (<see cref="CommitMetadataKeys.Dropped"/>).</summary>
    public static string FormatDropped(IReadOnlyDictionary<string, long> dropped) =>
        string.Join(',', dropped.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key}={d.Value.ToString(CultureInfo.InvariantCulture)}"));
}
