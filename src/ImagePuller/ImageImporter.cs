using System.Collections.Concurrent;
using OstreeContainer.Errors;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Registry;
using OstreeContainer.Oci.Sources;
using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.ImagePuller;

/// <summary>
/// Imports the commit an ostree-container image carries into an OSTree repository, by one
/// of two paths chosen from the manifest alone (<see cref="PullPlan.Choose"/>). By delta:
/// the config and one annotated delta layer whose from-commit the repository holds, applied
/// by <see cref="DeltaApplier"/> (signature from the superblock's detached metadata, every
/// object, the layer's diff_id and digest, then the commit's tree complete before the ref
/// moves). By layers, otherwise or when the delta fails any check (the pull says why and
/// goes on from the repository as it was): the meta layer (digest and diff_id), the
/// commit's signature, the tree walk that decides which objects are wanted, then the repo
/// layers, each object hashed against its name; tree layers are never read. Objects are
/// staged in a <see cref="RepoTransaction"/> and the ref moves last, so a rejected or
/// interrupted pull leaves refs and objects as they were.
/// </summary>
public static partial class ImageImporter
{
    /// <summary>Progress reports for a layer are at least this many bytes apart.</summary>
    private const long ProgressStep = 1 << 20;

    /// <summary>Pulls <see cref="ImagePullOptions.Image"/> into <see cref="ImagePullOptions.RepoPath"/>.</summary>
    /// <exception cref="ImagePullException">Anything the user must act on: one line, naming the image.</exception>
    public static async Task<PullResult> PullAsync(ImagePullOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            return await PullCoreAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsPullFailure(e) && !cancellationToken.IsCancellationRequested)
        {
            throw new ImagePullException($"pulling {options.Image}: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    /// <summary>Reads what an image says about itself, without touching any repository.</summary>
    /// <exception cref="ImagePullException">The image cannot be read.</exception>
    public static async Task<ImageInfo> InspectAsync(ImageReference image, RegistryClient? registry, Oci.Images.Platform platform, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        try
        {
            using var source = ImageSource.Open(image, registry, Path.GetTempPath());
            return await ImageInfo.ReadAsync(source, platform, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsPullFailure(e) && !cancellationToken.IsCancellationRequested)
        {
            throw new ImagePullException($"inspecting {image}: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    /// <summary>
    /// The path a pull of the image <paramref name="info"/> describes into the repository at
    /// <paramref name="repoPath"/> would take (ref <paramref name="refName"/>, else the image's
    /// <c>ostree.ref</c> label, else its commit), and what it would fetch; nothing is written.
    /// </summary>
    /// <exception cref="ImagePullException">The repository cannot be opened, or the image's annotations are malformed.</exception>
    public static PullPlan PlanPull(ImageInfo info, string repoPath, string? refName = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(repoPath);
        try
        {
            var repo = OstreeRepo.Open(repoPath);
            if (info.Shape != ImageShape.OstreeContainer)
            {
                return PlanDerived(info, repo, refName);
            }

            var commit = info.Commit ?? throw new InvalidDataException($"manifest {info.ManifestDigest} has no {ImageLabelKeys.Commit} label: not an ostree-container image");
            var refText = refName ?? info.Ref ?? commit.ToString();
            return PullPlan.Choose(info, repo, refText, PullState.TryLoad(repo.Root, refText));
        }
        catch (Exception e) when (IsPullFailure(e))
        {
            throw new ImagePullException($"planning a pull into {repoPath}: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    // Failures of input or environment get the image's name as context; anything else is a
    // bug and reaches the caller unwrapped, with its stack trace.
    private static bool IsPullFailure(Exception e) => ErrorPolicy.IsUserFacing(e);

    private static async Task<PullResult> PullCoreAsync(ImagePullOptions options, CancellationToken cancellationToken)
    {
        var report = options.Progress ?? (_ => { });
        var repo = OstreeRepo.Open(options.RepoPath);
        if (repo.Mode is not (RepoMode.Archive or RepoMode.BareUser or RepoMode.Bare))
        {
            throw new NotSupportedException(
                $"repository {repo.Root} is in '{repo.Mode.ToConfigString()}' mode; pull writes archive, bare-user and bare repositories only");
        }

        if (repo.Mode == RepoMode.Bare && !Ostree.Posix.FileSystem.IsRoot)
        {
            // Checked before any request: every object in a bare repo is chowned to its owner.
            throw new UnauthorizedAccessException(
                $"repository {repo.Root} is in 'bare' mode, which keeps each file's owner: pull into it as root, or use a bare-user repository");
        }

        // Keys first: without them nothing is fetched at all, except for an image pinned by
        // digest, which may turn out to be a plain image with no commit to verify.
        var pinned = options.Image.Digest is not null;
        var keysDeferred = pinned && !options.Trust.GivesKeys;
        var policy = keysDeferred ? null : options.Trust.Resolve(repo);
        if (policy is null && !keysDeferred)
        {
            report(new PullProgress(PullStage.Verify, null, null, 0, 0, "WARNING: --insecure-no-signature: the commit's signature will NOT be checked"));
        }

        using var source = ImageSource.Open(options.Image, options.Registry, Path.Combine(repo.Root, "tmp"));
        report(new PullProgress(PullStage.Manifest, null, null, 0, 0, $"reading {options.Image}"));
        var info = await ImageInfo.ReadAsync(source, options.Platform, cancellationToken).ConfigureAwait(false);
        FormatVersion.EnsureReadable(info.Labels);
        if (keysDeferred && info.Shape != ImageShape.Plain)
        {
            // The image carries an OSTree commit after all: its signature is checked as always.
            policy = options.Trust.Resolve(repo);
        }

        if (info.Shape != ImageShape.OstreeContainer)
        {
            return await PullDerivedAsync(options, repo, source, info, policy, report, cancellationToken).ConfigureAwait(false);
        }

        var commit = info.Commit ?? throw new InvalidDataException($"manifest {info.ManifestDigest} has no {ImageLabelKeys.Commit} label: not an ostree-container image");
        var refText = options.Ref ?? info.Ref
            ?? (options.SetRef ? throw new UserInputException($"the image has no {ImageLabelKeys.Ref} label; name the ref with --ref") : commit.ToString());
        var state = options.SetRef ? PullState.TryLoad(repo.Root, refText) : null;
        return await ImportCommitAsync(options, repo, source, info, commit, refText, state, policy, report, cancellationToken).ConfigureAwait(false);
    }

    // An ostree-container image's commit, by delta or by repo layers, into refText (when
    // options.SetRef) or without a ref.
    private static async Task<PullResult> ImportCommitAsync(
        ImagePullOptions options, OstreeRepo repo, ImageSource source, ImageInfo info, Checksum commit, string refText, PullState? state,
        SignaturePolicy? policy, Action<PullProgress> report, CancellationToken cancellationToken)
    {
        var refName = RefName.Head(refText);
        var pullPlan = PullPlan.Choose(info, repo, refText, state);
        if (pullPlan.Path == PullPath.UpToDate)
        {
            report(new PullProgress(PullStage.Done, null, null, 0, 0, $"{refText} is already at {commit} ({info.ManifestDigest})"));
            return new PullResult(commit.ToString(), refText, info.ManifestDigest, true, 0, 0, 0, 0, policy is not null, null, PullPath.UpToDate, BaseCommit: commit.ToString());
        }

        var unknown = info.Layers.FirstOrDefault(l => l.Kind == LayerKind.Unknown);
        if (unknown is not null)
        {
            throw new InvalidDataException($"layer {unknown.Index} ({unknown.Descriptor.Digest}) has no {ImageAnnotationKeys.LayerKind} annotation and the config no {ImageLabelKeys.RepoLayers} label: not an ostree-container image");
        }

        var meta = info.Layers.LastOrDefault(l => l.Kind == LayerKind.Meta)
            ?? throw new InvalidDataException($"manifest {info.ManifestDigest} has no meta layer (annotation {ImageAnnotationKeys.LayerKind}=meta)");
        var run = new PullRun(options, source, new BlobCache(repo.Root), report);
        var fallback = pullPlan.Reason;
        if (pullPlan.Delta is { } delta)
        {
            report(new PullProgress(PullStage.Plan, delta.Layer.Descriptor.Digest.ToString(), LayerKind.Delta, 0, pullPlan.BytesToFetch,
                $"path: delta {Describe(delta.Info)} (layer {delta.Layer.Index}, {delta.Layer.Descriptor.Size} bytes); no meta or repo layer needed"));
            try
            {
                return await PullDeltaAsync(options, repo, info, delta, commit, refText, refName, policy, run, report, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidDataException or SignatureVerificationException && !cancellationToken.IsCancellationRequested)
            {
                // Nothing the failed application staged became visible; the next path starts
                // from the repository as it was.
                run.Cache.Remove([delta.Layer.Descriptor.Digest]);
                fallback = $"delta {Describe(delta.Info)} failed: {e.Message.ReplaceLineEndings(" ")}";
                report(new PullProgress(PullStage.Plan, null, null, 0, 0, $"falling back to the repo layers: {fallback}"));
            }
        }
        else
        {
            report(new PullProgress(PullStage.Plan, null, null, 0, pullPlan.BytesToFetch,
                $"path: repo layers ({pullPlan.LayersToFetch.Count} layers, {pullPlan.BytesToFetch} bytes): {fallback}"));
        }

        return await PullLayersAsync(options, repo, info, meta, commit, refText, refName, state, policy, run, fallback, report, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A delta as "FROM -> TO" in 12-digit checksums (<c>empty</c> from scratch).</summary>
    public static string Describe(DeltaLayerInfo delta) =>
        $"{(delta.From is null ? DeltaLayerAnnotations.Empty : delta.From[..12])} -> {delta.To[..12]}";

    // The delta path: the config (read already) and one delta layer. The applier verifies
    // the superblock's signature and the commit's (from the detached metadata the superblock
    // carries), every object against its name, and the layer's diff_id and digest before
    // anything becomes visible; then the commit's tree must be complete before the ref moves.
    private static async Task<PullResult> PullDeltaAsync(
        ImagePullOptions options, OstreeRepo repo, ImageInfo info, DeltaLayer delta, Checksum commit, string refText, RefName refName,
        SignaturePolicy? policy, PullRun run, Action<PullProgress> report, CancellationToken cancellationToken)
    {
        var layer = delta.Layer;
        var name = ImageImporter.WithLayerContext(layer, () => delta.Name);
        using (var downloads = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            await run.Fetch(layer, downloads.Token).ConfigureAwait(false);
        }

        DeltaApplyResult applied;
        using (var blob = await run.OpenVerifiedAsync(layer, cancellationToken).ConfigureAwait(false))
        using (var deltaSource = new LayerDeltaSource(blob, layer, name))
        {
            if (policy is not null)
            {
                report(new PullProgress(PullStage.Verify, null, null, 0, 0, $"verifying the signature of commit {commit} (detached metadata in the delta's superblock)"));
            }

            report(new PullProgress(PullStage.Import, layer.Descriptor.Digest.ToString(), LayerKind.Delta, 0, layer.Descriptor.Size, $"layer {layer.Index}: applying delta {Describe(delta.Info)}"));
            applied = await DeltaApplier.ApplyAsync(repo, deltaSource, new DeltaApplyOptions
            {
                SignaturePolicy = policy,
                ExpectedName = name,
                // More part writers than cores made the OS fixture's C1 -> C2 part take 1.2 s
                // instead of 0.2 s on one core: --jobs counts downloads, not CPUs.
                MaxParallelism = Math.Clamp(options.Jobs, 1, Environment.ProcessorCount),
                TimeProvider = options.TimeProvider,
            }, cancellationToken).ConfigureAwait(false);
        }

        // A delta holds what its generator put in; the ref only moves to a complete tree.
        if (FirstMissing(repo, commit) is { } missing)
        {
            throw new InvalidDataException($"after applying it, {missing.Type.Name()} {missing.Checksum} of commit {commit} is still missing");
        }

        // The applier verified the signatures before staging anything; name who signed.
        string? signedBy = null;
        if (applied.Signature is { } verdict)
        {
            signedBy = SignedBy(verdict);
            report(new PullProgress(PullStage.Verify, null, null, 0, 0, $"commit {commit.ToShortString()} signed by {signedBy}"));
        }

        if (options.SetRef)
        {
            report(new PullProgress(PullStage.Commit, null, null, 0, 0, $"ref {refText}"));
            repo.SetRef(refName, commit);
            new PullState
            {
                Image = options.Image.ToString(),
                Manifest = info.ManifestDigest.ToString(),
                Commit = commit.ToString(),
                // The commit is complete, so every repo layer's objects are here.
                Layers = [.. info.Layers.Where(l => l.Kind == LayerKind.Repo).Select(l => l.Descriptor.Digest.ToString()).Distinct()],
            }.Save(repo.Root, refText);
        }

        run.Cache.Remove([layer.Descriptor.Digest]);
        var skipped = info.Layers.Count(l => l.Kind is LayerKind.Repo or LayerKind.Meta);
        report(new PullProgress(PullStage.Done, null, null, run.BytesTransferred, run.BytesTransferred,
            $"{refText} => {commit}: by delta {Describe(delta.Info)}, {applied.ObjectsWritten} objects written, {run.BytesTransferred} bytes fetched"));
        return new PullResult(commit.ToString(), refText, info.ManifestDigest, false, run.Fetched.Count, skipped, run.BytesTransferred, applied.ObjectsWritten, policy is not null, signedBy, PullPath.Delta, delta.Info, BaseCommit: commit.ToString());
    }

    // The first object reachable from the commit that the repository lacks, or null.
    private static (ObjectType Type, Checksum Checksum)? FirstMissing(OstreeRepo repo, Checksum commit)
    {
        var parsed = Commit.Parse(repo.ReadMetadataBytes(commit, ObjectType.Commit));
        var seenTrees = new HashSet<Checksum>();
        var seenMetas = new HashSet<Checksum>();
        var seenFiles = new HashSet<Checksum>();
        var pending = new Stack<(Checksum Tree, Checksum Meta)>();
        pending.Push((parsed.RootTree, parsed.RootMeta));
        while (pending.TryPop(out var dir))
        {
            if (seenMetas.Add(dir.Meta) && !repo.HasObject(dir.Meta, ObjectType.DirMeta))
            {
                return (ObjectType.DirMeta, dir.Meta);
            }

            if (!seenTrees.Add(dir.Tree))
            {
                continue;
            }

            if (!repo.HasObject(dir.Tree, ObjectType.DirTree))
            {
                return (ObjectType.DirTree, dir.Tree);
            }

            var tree = repo.ReadDirTree(dir.Tree);
            foreach (var file in tree.Files)
            {
                if (seenFiles.Add(file.Checksum) && !repo.HasObject(file.Checksum, ObjectType.File))
                {
                    return (ObjectType.File, file.Checksum);
                }
            }

            foreach (var sub in tree.Directories)
            {
                pending.Push((sub.TreeChecksum, sub.MetaChecksum));
            }
        }

        return null;
    }

    private static string SignedBy(SignatureReport verdict) => string.Join(", ", new[]
    {
        verdict.Gpg?.Signatures.FirstOrDefault(s => s.IsValid)?.KeyLabel is { } gpg ? $"GPG key {gpg}" : null,
        verdict.Ed25519?.ValidKey is { } ed ? $"ed25519 key {ed}" : null,
    }.Where(s => s is not null));

    // The layers path: the meta layer, then the repo layers the repository lacks.
    private static async Task<PullResult> PullLayersAsync(
        ImagePullOptions options, OstreeRepo repo, ImageInfo info, ImageLayer meta, Checksum commit, string refText, RefName refName, PullState? state,
        SignaturePolicy? policy, PullRun run, string? reason, Action<PullProgress> report, CancellationToken cancellationToken)
    {
        var imported = state?.LayerSet() ?? [];
        // Identical layers (empty chunks) share a digest: read each blob once.
        var repoLayers = info.Layers.Where(l => l.Kind == LayerKind.Repo).DistinctBy(l => l.Descriptor.Digest).ToList();
        foreach (var layer in info.Layers.Where(l => l.Kind is LayerKind.Tree or LayerKind.Delta))
        {
            report(new PullProgress(PullStage.Skip, layer.Descriptor.Digest.ToString(), layer.Kind, 0, layer.Descriptor.Size, $"layer {layer.Index}: {layer.Kind.ToString().ToLowerInvariant()} layer, not needed"));
        }

        using var downloads = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            // The meta layer goes first in the queue; the repo layers not imported before
            // download alongside it while it is verified.
            var wanted = repoLayers.Where(l => !imported.Contains(l.Descriptor.Digest)).ToList();
            var skipped = repoLayers.Except(wanted).ToList();
            var metaFetch = run.Fetch(meta, downloads.Token);
            foreach (var layer in wanted)
            {
                _ = run.Fetch(layer, downloads.Token);
            }

            await metaFetch.ConfigureAwait(false);
            CommitPlan plan;
            using (var metaBlob = await run.OpenVerifiedAsync(meta, cancellationToken).ConfigureAwait(false))
            {
                plan = VerifyCommit(repo, metaBlob, meta, commit, policy, options.TimeProvider, report);
            }

            if (plan.WantedFiles.Count == 0)
            {
                // Every object is here already (same content, other commit): fetch nothing more.
                await downloads.CancelAsync().ConfigureAwait(false);
                await run.SettleAsync().ConfigureAwait(false);
                skipped = repoLayers;
                wanted = [];
            }

            foreach (var layer in skipped)
            {
                report(new PullProgress(PullStage.Skip, layer.Descriptor.Digest.ToString(), layer.Kind, 0, layer.Descriptor.Size, $"layer {layer.Index}: imported by an earlier pull"));
            }

            using var transaction = repo.BeginTransaction();
            var claimed = new ConcurrentDictionary<Checksum, bool>();
            // The commit, dirtrees and dirmetas are verified already: stage them while the
            // layers import. The transaction is only disposed once this task has finished.
            var metadata = Task.Run(() => StageMetadata(transaction, plan, commit), cancellationToken);
            List<Checksum> missing;
            try
            {
                await run.ImportAsync(wanted, transaction, plan.WantedFiles, claimed, downloads).ConfigureAwait(false);
                missing = [.. plan.WantedFiles.Where(c => !transaction.HasObject(c, ObjectType.File))];
                if (missing.Count > 0 && skipped.Count > 0)
                {
                    // The state file promised objects the repo no longer has (pruned?): read the rest.
                    await run.ImportAsync(skipped, transaction, plan.WantedFiles, claimed, downloads).ConfigureAwait(false);
                    missing = [.. plan.WantedFiles.Where(c => !transaction.HasObject(c, ObjectType.File))];
                    skipped = [];
                }
            }
            finally
            {
                await metadata.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await metadata.ConfigureAwait(false);
            if (missing.Count > 0)
            {
                throw new InvalidDataException($"commit {commit}: {missing.Count} file objects of its tree are in no repo layer (first: {missing[0]})");
            }

            report(new PullProgress(PullStage.Commit, null, null, 0, 0, $"writing {transaction.StagedCount} objects, then ref {refText}"));
            var written = transaction.StagedCount;
            if (options.SetRef)
            {
                transaction.SetRef(refName, commit);
            }

            // Every layer is imported: drop the cached blobs (including downloads cancelled
            // because their objects were already here) before the commit's syncfs, which
            // would otherwise write their still-dirty pages to disk only to delete them.
            run.Cache.Remove(repoLayers.Append(meta).Select(l => l.Descriptor.Digest));
            transaction.Commit();

            if (options.SetRef)
            {
                new PullState
                {
                    Image = options.Image.ToString(),
                    Manifest = info.ManifestDigest.ToString(),
                    Commit = commit.ToString(),
                    Layers = [.. repoLayers.Select(l => l.Descriptor.Digest.ToString())],
                }.Save(repo.Root, refText);
            }

            report(new PullProgress(PullStage.Done, null, null, run.BytesTransferred, run.BytesTransferred, $"{refText} => {commit}: by repo layers, {written} objects written, {run.Fetched.Count} layers read, {skipped.Count} skipped, {run.BytesTransferred} bytes fetched"));
            return new PullResult(commit.ToString(), refText, info.ManifestDigest, false, run.Fetched.Count, skipped.Count, run.BytesTransferred, written, policy is not null, plan.SignedBy, PullPath.Layers, null, reason, BaseCommit: commit.ToString());
        }
        catch
        {
            await downloads.CancelAsync().ConfigureAwait(false);
            await run.SettleAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static void StageMetadata(RepoTransaction transaction, CommitPlan plan, Checksum commit)
    {
        foreach (var (type, checksum, bytes) in plan.Metadata)
        {
            transaction.WriteMetadata(type, checksum, bytes);
        }

        if (plan.CommitMeta is not null)
        {
            transaction.WriteCommitMeta(commit, plan.CommitMeta);
        }
    }

    private static CommitPlan VerifyCommit(OstreeRepo repo, Stream metaBlob, ImageLayer meta, Checksum commit, SignaturePolicy? policy, TimeProvider timeProvider, Action<PullProgress> report)
    {
        var objects = WithLayerContext(meta, () =>
        {
            var result = LayerObjects.ReadMetadata(metaBlob, meta);
            Drain(metaBlob);
            return result;
        });

        if (!objects.TryGetValue((commit, ObjectType.Commit), out var commitBytes))
        {
            throw new InvalidDataException($"the meta layer {meta.Descriptor.Digest} does not hold commit {commit}");
        }

        VariantDictionary? commitMeta = null;
        if (objects.TryGetValue((commit, ObjectType.CommitMeta), out var commitMetaBytes))
        {
            try
            {
                commitMeta = VariantDictionary.Parse(commitMetaBytes);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"commitmeta {commit}: {e.Message}", e);
            }
        }

        string? signedBy = null;
        if (policy is not null)
        {
            report(new PullProgress(PullStage.Verify, null, null, 0, 0, $"verifying the signature of commit {commit}"));
            var verdict = CommitSignatures.Verify(commit, commitBytes, commitMeta, policy, timeProvider);
            signedBy = SignedBy(verdict);
            report(new PullProgress(PullStage.Verify, null, null, 0, 0, $"commit {commit.ToShortString()} signed by {signedBy}"));
        }
        else if (Checksum.Compute(commitBytes) != commit)
        {
            throw new InvalidDataException($"commit {commit}: its bytes in the meta layer hash to {Checksum.Compute(commitBytes)}");
        }

        var parsed = Commit.Parse(commitBytes);
        var plan = new CommitPlan(commitMeta, signedBy);
        plan.Metadata.Add((ObjectType.Commit, commit, commitBytes));
        Walk(repo, objects, parsed, plan);
        return plan;
    }

    // Every dirtree, dirmeta and file reachable from the commit: those the repo lacks are
    // taken from the meta layer (hash-checked here) or wanted from the repo layers.
    private static void Walk(OstreeRepo repo, Dictionary<(Checksum, ObjectType), byte[]> objects, Commit commit, CommitPlan plan)
    {
        var seenTrees = new HashSet<Checksum>();
        var seenMetas = new HashSet<Checksum>();
        var pending = new Stack<(Checksum Tree, Checksum Meta)>();
        pending.Push((commit.RootTree, commit.RootMeta));
        while (pending.TryPop(out var dir))
        {
            if (seenMetas.Add(dir.Meta) && !repo.HasObject(dir.Meta, ObjectType.DirMeta))
            {
                var bytes = Take(objects, dir.Meta, ObjectType.DirMeta);
                DirMeta.Parse(bytes);
                plan.Metadata.Add((ObjectType.DirMeta, dir.Meta, bytes));
            }

            if (!seenTrees.Add(dir.Tree))
            {
                continue;
            }

            DirTree tree;
            if (repo.HasObject(dir.Tree, ObjectType.DirTree))
            {
                tree = repo.ReadDirTree(dir.Tree);
            }
            else
            {
                var bytes = Take(objects, dir.Tree, ObjectType.DirTree);
                tree = DirTree.Parse(bytes);
                plan.Metadata.Add((ObjectType.DirTree, dir.Tree, bytes));
            }

            foreach (var file in tree.Files)
            {
                if (!repo.HasObject(file.Checksum, ObjectType.File))
                {
                    plan.WantedFiles.Add(file.Checksum);
                }
            }

            foreach (var sub in tree.Directories)
            {
                pending.Push((sub.TreeChecksum, sub.MetaChecksum));
            }
        }
    }

    private static byte[] Take(Dictionary<(Checksum, ObjectType), byte[]> objects, Checksum checksum, ObjectType type)
    {
        if (!objects.TryGetValue((checksum, type), out var bytes))
        {
            throw new InvalidDataException($"{type.Name()} {checksum} is in neither the repository nor the meta layer");
        }

        var actual = Checksum.Compute(bytes);
        return actual == checksum ? bytes : throw new InvalidDataException($"{type.Name()} {checksum} in the meta layer hashes to {actual}");
    }

    internal static T WithLayerContext<T>(ImageLayer layer, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{layer.Kind.ToString().ToLowerInvariant()} layer {layer.Index} ({layer.Descriptor.Digest}): {e.Message}", e);
        }
    }

    // Reads what the decompressor left (gzip may stop before trailing bytes) so the
    // verifying stream sees the whole blob and checks its digest.
    internal static void Drain(Stream blob)
    {
        var buffer = new byte[64 * 1024];
        while (blob.Read(buffer) > 0)
        {
        }
    }

    private sealed class CommitPlan(VariantDictionary? commitMeta, string? signedBy)
    {
        public VariantDictionary? CommitMeta { get; } = commitMeta;

        public string? SignedBy { get; } = signedBy;

        public List<(ObjectType Type, Checksum Checksum, byte[] Bytes)> Metadata { get; } = [];

        public HashSet<Checksum> WantedFiles { get; } = [];
    }

    /// <summary>The downloads and imports of one pull, bounded by <see cref="ImagePullOptions.Jobs"/>.</summary>
    private sealed class PullRun(ImagePullOptions options, ImageSource source, BlobCache cache, Action<PullProgress> report)
    {
        private readonly SemaphoreSlim _slots = new(Math.Max(1, options.Jobs));
        private readonly ConcurrentDictionary<Digest, Task> _fetches = new();
        private readonly ConcurrentDictionary<Digest, bool> _verified = new();
        private long _bytesTransferred;

        public BlobCache Cache => cache;

        public ConcurrentBag<Digest> Fetched { get; } = [];

        public long BytesTransferred => Interlocked.Read(ref _bytesTransferred);

        public Task Fetch(ImageLayer layer, CancellationToken cancellationToken) =>
            _fetches.GetOrAdd(layer.Descriptor.Digest, _ => FetchCoreAsync(layer, cancellationToken));

        /// <summary>
        /// The layer's blob, checked against its digest as it is read, unless this run
        /// downloaded it into the cache and hashed every byte on the way (hashing the same
        /// bytes twice cost 0.1 CPU-s per OS pull). A blob an earlier run left is checked.
        /// </summary>
        public async Task<Stream> OpenVerifiedAsync(ImageLayer layer, CancellationToken cancellationToken)
        {
            var blob = layer.Descriptor;
            if (source.IsLocal)
            {
                return await source.OpenBlobAsync(blob, cancellationToken).ConfigureAwait(false);
            }

            var file = new FileStream(cache.CompletePath(blob.Digest), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            return _verified.ContainsKey(blob.Digest) ? file : new VerifyingStream(file, blob.Digest, blob.Size, $"blob {blob.Digest}");
        }

        public async Task ImportAsync(IReadOnlyList<ImageLayer> layers, RepoTransaction transaction, IReadOnlySet<Checksum> wanted, ConcurrentDictionary<Checksum, bool> claimed, CancellationTokenSource cancel)
        {
            var cancellationToken = cancel.Token;
            var tasks = layers.Select(layer => Task.Run(async () =>
            {
                await Fetch(layer, cancellationToken).ConfigureAwait(false);
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    var digest = layer.Descriptor.Digest.ToString();
                    using var blob = await OpenVerifiedAsync(layer, cancellationToken).ConfigureAwait(false);
                    var written = WithLayerContext(layer, () =>
                    {
                        var count = LayerObjects.ImportContent(blob, layer, transaction, wanted, claimed, _ => { }, cancellationToken);
                        Drain(blob);
                        return count;
                    });
                    report(new PullProgress(PullStage.Import, digest, layer.Kind, layer.Descriptor.Size, layer.Descriptor.Size, $"layer {layer.Index}: {written} objects imported"));
                }
                finally
                {
                    _slots.Release();
                }
            }, cancellationToken)).ToList();
            await WhenAllOrFirstFailure(tasks, cancel).ConfigureAwait(false);
        }

        /// <summary>Waits for every download started, ignoring their failures (used when giving up).</summary>
        public async Task SettleAsync()
        {
            foreach (var task in _fetches.Values)
            {
                try
                {
                    await task.ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException || IsPullFailure(e))
                {
                    // The first failure is what the caller reports.
                }
            }
        }

        private async Task FetchCoreAsync(ImageLayer layer, CancellationToken cancellationToken)
        {
            var digest = layer.Descriptor.Digest.ToString();
            var total = layer.Descriptor.Size;
            if (source.IsLocal)
            {
                Fetched.Add(layer.Descriptor.Digest);
                report(new PullProgress(PullStage.Fetch, digest, layer.Kind, total, total, $"layer {layer.Index}: local blob"));
                return;
            }

            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var last = -ProgressStep;
                var fetch = await WithLayerContextAsync(layer, () => cache.FetchAsync(source, layer.Descriptor, done =>
                {
                    if (done - last >= ProgressStep || done == total)
                    {
                        last = done;
                        report(new PullProgress(PullStage.Fetch, digest, layer.Kind, done, total));
                    }
                }, cancellationToken)).ConfigureAwait(false);
                Interlocked.Add(ref _bytesTransferred, fetch.Transferred);
                if (fetch.Verified)
                {
                    _verified.TryAdd(layer.Descriptor.Digest, true);
                }

                Fetched.Add(layer.Descriptor.Digest);
            }
            finally
            {
                _slots.Release();
            }
        }

        private static async Task<T> WithLayerContextAsync<T>(ImageLayer layer, Func<Task<T>> action)
        {
            try
            {
                return await action().ConfigureAwait(false);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{layer.Kind.ToString().ToLowerInvariant()} layer {layer.Index} ({layer.Descriptor.Digest}): {e.Message}", e);
            }
            catch (RegistryException e)
            {
                throw new InvalidDataException($"{layer.Kind.ToString().ToLowerInvariant()} layer {layer.Index}: {e.Message}", e);
            }
        }

        // The first failure stops the others; all are awaited before it is rethrown, so no
        // import still writes into a transaction its caller is about to abort.
        private static async Task WhenAllOrFirstFailure(List<Task> tasks, CancellationTokenSource cancel)
        {
            var remaining = new List<Task>(tasks);
            while (remaining.Count > 0)
            {
                var finished = await Task.WhenAny(remaining).ConfigureAwait(false);
                remaining.Remove(finished);
                if (finished.IsFaulted || finished.IsCanceled)
                {
                    await cancel.CancelAsync().ConfigureAwait(false);
                    try
                    {
                        await Task.WhenAll(remaining).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is OperationCanceledException || IsPullFailure(e))
                    {
                        // Secondary failures caused by the cancellation.
                    }

                    await finished.ConfigureAwait(false);
                }
            }
        }
    }
}
