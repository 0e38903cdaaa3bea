using System.Buffers.Binary;
using System.Runtime.ExceptionServices;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Deltas.Generate;

/// <summary>
/// The delta compiler behind <see cref="DeltaGenerator"/>: plans which objects go where as
/// ostree's <c>generate_delta_lowlatency</c> does (ostree-format.md §8.8), then does the
/// expensive parts (rollsum, bsdiff, reading and compressing parts) on every core.
/// </summary>
internal static class DeltaCompiler
{
    // "OSTSGNDT" as a big-endian t: the signed superblock wrapper (taya{sv}), §8.7.
    private const ulong SignedMagic = 0x4F535453474E4454;

    // Smallest part made only to spread compression across cores: below this, one more xz
    // stream costs more in lost matches than the time it saves.
    private const long BalancedPartFloor = 1_000_000;

    // xz preset for parts of already-compressed files.
    private const int PrecompressedPreset = 0;

    // S_IROTH: ostree only diffs against old files every client can read.
    private const uint OtherRead = 0x4;

    private static readonly GVariantType SignedSuperblockType = GVariantType.Parse("(taya{sv})");
    private static readonly GVariantType InlinePartType = GVariantType.Parse("(yay)");

    public static DeltaGenerateResult Generate(OstreeRepo repo, Checksum? from, Checksum to, DeltaGenerateOptions options, CancellationToken cancellationToken)
    {
        var name = new DeltaName(from, to);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxParallelism, CancellationToken = cancellationToken };
        var plan = Plan(repo, from, to, options, parallel);

        // Staged beside its destination and renamed into place: under the repo's tmp/, or,
        // for an output directory, as a sibling of it (the repo is then never written).
        var output = options.OutputDirectory is { } o ? Path.GetFullPath(o) : null;
        var tmpRoot = output is null ? Path.Combine(repo.Root, "tmp") : Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(tmpRoot);
        var staging = Path.Combine(tmpRoot, output is null ? $"delta-{Guid.NewGuid():N}" : $".{Path.GetFileName(output)}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            // Two stages overlap: the parts that need no diff (metadata, unchanged-name new
            // files, symlinks) are compressed while rollsum and bsdiff run; the diffed files
            // and the changed files no diff suited form the parts after them. Part order
            // carries no meaning to clients, only the object lists do.
            var first = plan.Parts;
            var firstEncoded = new EncodedPart[first.Count];
            var diffs = Task.Run(() => RunDiffs(repo, plan, options, parallel), cancellationToken);
            EncodeParts(repo, first, firstEncoded, 0, staging, options, parallel);
            var (second, secondFallbacks) = diffs.GetAwaiter().GetResult();
            var secondEncoded = new EncodedPart[second.Count];
            EncodeParts(repo, second, secondEncoded, first.Count, staging, options, parallel);

            EncodedPart[] encoded = [.. firstEncoded, .. secondEncoded];
            List<DeltaFallback> fallbacks = [.. plan.Fallbacks, .. secondFallbacks];
            var superblock = BuildSuperblock(repo, name, plan.CommitObject, encoded, fallbacks, options);
            var superblockBytes = superblock.Serialize();
            if (options.SignKeys.Count > 0)
            {
                superblockBytes = Sign(superblockBytes, options.SignKeys);
            }

            File.WriteAllBytes(Path.Combine(staging, DeltaName.SuperblockFileName), superblockBytes);
            cancellationToken.ThrowIfCancellationRequested();
            string directory;
            if (output is not null)
            {
                Directory.Move(staging, output);
                directory = output;
            }
            else
            {
                directory = Install(repo, name, staging);
                RefreshIndexAndSummary(repo, to);
            }

            var partBytes = encoded.Sum(p => (long)p.Header.Size);
            return new DeltaGenerateResult(name, directory, encoded.Length, partBytes, fallbacks.Count, fallbacks.Sum(f => (long)f.CompressedSize), superblockBytes.Length);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    // Parts compress independently: largest (weighted by preset) first keeps every core busy to the end.
    private static void EncodeParts(OstreeRepo repo, List<PlannedPart> parts, EncodedPart[] encoded, int firstIndex, string staging, DeltaGenerateOptions options, ParallelOptions parallel)
    {
        var order = Enumerable.Range(0, parts.Count).OrderByDescending(i => parts[i].Items.Sum(x => x.PayloadLength) * (parts[i].Preset + 1)).ToArray();
        Unwrap(() => Parallel.ForEach(order, parallel, i =>
        {
            var path = Path.Combine(staging, (firstIndex + i).ToString(System.Globalization.CultureInfo.InvariantCulture));
            encoded[i] = PartEncoder.Encode(repo, parts[i], path, options.Inline, parallel.CancellationToken);
        }));
    }

    private sealed record DiffJob(Checksum Target, FileHeader Header, long Size, Checksum Source, long SourceSize);

    private sealed record DeltaPlan(
        byte[] CommitObject,
        List<PlannedPart> Parts,
        List<DeltaFallback> Fallbacks,
        List<DiffJob> DiffJobs,
        Dictionary<Checksum, List<string>> Names,
        Dictionary<Checksum, int> WalkIndex);

    private static DeltaPlan Plan(OstreeRepo repo, Checksum? from, Checksum to, DeltaGenerateOptions options, ParallelOptions parallel)
    {
        // The two walks are independent reads of many small dirtrees: run them side by side.
        var fromWalk = from is { } f ? Task.Run(() => CommitClosure.Walk(repo, f), parallel.CancellationToken) : null;
        var toClosure = CommitClosure.Walk(repo, to);
        var fromClosure = fromWalk?.GetAwaiter().GetResult();

        // New metadata, the target commit excepted: it travels in the superblock.
        var newMetadata = toClosure.MetadataOrder
            .Where(m => m.Type != ObjectType.Commit && fromClosure?.Metadata.Contains(m) != true)
            // dirmetas are tiny and alike; grouping them before the dirtrees helps xz.
            .OrderBy(m => m.Type == ObjectType.DirTree)
            .ToList();
        var metadataItems = new DeltaItem[newMetadata.Count];
        Unwrap(() => Parallel.For(0, newMetadata.Count, parallel, i =>
        {
            var (type, checksum) = newMetadata[i];
            var bytes = repo.TryReadMetadataBytes(checksum, type)
                ?? throw new InvalidDataException($"{type.Name()} {checksum} is missing from {repo.Root}");
            metadataItems[i] = DeltaItem.ForMetadata(type, checksum, bytes);
        }));

        var newFiles = toClosure.FileOrder.Where(c => fromClosure?.Files.ContainsKey(c) != true).ToList();
        var headers = ReadHeaders(repo, newFiles, parallel);

        // Changed files: a similar old file (same name, similar size) to encode against.
        var jobs = new List<DiffJob>();
        if (fromClosure is not null)
        {
            var newRegular = newFiles.Where(c => !headers[c].Header.IsSymlink).ToList();
            if (newRegular.Count > 0)
            {
                // Only old files sharing a name (or a name up to its first dot) with a new
                // file can be chosen, so only their headers are read: a few, not thousands.
                // (The one difference from ostree: among several such old files of exactly
                // the same size, its hash-table order over all old files picks one; ours
                // orders only these, so it may pick another, equally similar, one.)
                var relevant = NameMatchCandidates(fromClosure, newRegular.SelectMany(c => toClosure.Files[c]));
                var oldHeaders = ReadHeaders(repo, relevant, parallel);
                var oldCandidates = relevant
                    .Where(c => !oldHeaders[c].Header.IsSymlink)
                    .Select(c => new SimilarFiles.Candidate(c, oldHeaders[c].Size, fromClosure.Files[c]));
                var newCandidates = newRegular.Select(c => new SimilarFiles.Candidate(c, headers[c].Size, toClosure.Files[c]));
                var similar = SimilarFiles.Find(oldCandidates, newCandidates);

                // Largest first: the longest diffs start early and finish with the rest.
                jobs = [.. similar
                    .Where(p => (oldHeaders[p.Value].Header.Mode & OtherRead) != 0)
                    .Select(p => new DiffJob(p.Key, headers[p.Key].Header, headers[p.Key].Size, p.Value, oldHeaders[p.Value].Size))
                    .OrderByDescending(j => j.Size)];
            }
        }

        // Order inside each group is ours (ostree's is hash order): walk order for diffs,
        // similar files next to each other for plain content, which xz rewards.
        var walkIndex = new Dictionary<Checksum, int>(toClosure.FileOrder.Count);
        for (var i = 0; i < toClosure.FileOrder.Count; i++)
        {
            walkIndex[toClosure.FileOrder[i]] = i;
        }

        var diffed = jobs.Select(j => j.Target).ToHashSet();
        var fallbacks = new List<DeltaFallback>();
        var plain = new List<DeltaItem>();
        var symlinks = new List<DeltaItem>();
        foreach (var checksum in newFiles)
        {
            var (header, size) = headers[checksum];
            if (header.IsSymlink)
            {
                symlinks.Add(DeltaItem.ForContent(checksum, header, size));
            }
            else if (!diffed.Contains(checksum))
            {
                AddWhole(repo, checksum, header, size, options, plain, fallbacks);
            }
        }

        var parts = Pack([.. metadataItems, .. plain, .. symlinks], toClosure.Files, walkIndex, options);
        return new DeltaPlan(toClosure.CommitObject, parts, fallbacks, jobs, toClosure.Files, walkIndex);
    }

    // Old files with a basename equal to a new one, or the same non-empty part before the
    // first dot (SimilarFiles' exact and fuzzy passes), in walk order.
    private static List<Checksum> NameMatchCandidates(CommitClosure old, IEnumerable<string> newNames)
    {
        var exact = new HashSet<string>(StringComparer.Ordinal);
        var prefixes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in newNames)
        {
            exact.Add(name);
            var dot = name.IndexOf('.');
            if (dot > 0)
            {
                prefixes.Add(name[..dot]);
            }
        }

        return old.FileOrder
            .Where(c => old.Files[c].Exists(n => exact.Contains(n) || (n.IndexOf('.') is var dot && dot > 0 && prefixes.Contains(n[..dot]))))
            .ToList();
    }

    // A file sent whole: a fallback object when it is over MinFallbackSize, else a plain item.
    private static void AddWhole(OstreeRepo repo, Checksum checksum, FileHeader header, long size, DeltaGenerateOptions options, List<DeltaItem> plain, List<DeltaFallback> fallbacks)
    {
        if (options.MinFallbackSize > 0 && size > options.MinFallbackSize)
        {
            // ostree_repo_query_object_storage_size: the loose object file's length.
            var storage = new FileInfo(repo.ObjectPath(checksum, ObjectType.File)).Length;
            fallbacks.Add(new DeltaFallback(ObjectType.File, checksum, (ulong)storage, (ulong)size));
            return;
        }

        plain.Add(DeltaItem.ForContent(checksum, header, size));
    }

    // Rollsum where at least half the chunks match, else bsdiff when allowed and small
    // enough, else the file is sent whole (ostree's choice, §8.8); then the parts for them.
    private static (List<PlannedPart> Parts, List<DeltaFallback> Fallbacks) RunDiffs(OstreeRepo repo, DeltaPlan plan, DeltaGenerateOptions options, ParallelOptions parallel)
    {
        var results = new DeltaItem?[plan.DiffJobs.Count];
        Unwrap(() => Parallel.For(0, plan.DiffJobs.Count, parallel, i =>
        {
            var job = plan.DiffJobs[i];
            var newData = ContentReader.ReadAll(repo, job.Target, job.Size);
            var oldData = ContentReader.ReadAll(repo, job.Source, job.SourceSize);
            var matches = Rollsum.Match(oldData, newData);
            if (matches.IsWorthUsing)
            {
                results[i] = DeltaItem.ForRollsum(job.Target, job.Header, job.Size, job.Source, matches.Matches);
            }
            else if (!options.DisableBsdiff && job.Size + job.SourceSize <= options.MaxBsdiffSize)
            {
                results[i] = DeltaItem.ForBsdiff(job.Target, job.Header, job.Size, job.Source, Bsdiff.Diff(oldData, newData));
            }
        }));

        var fallbacks = new List<DeltaFallback>();
        var plain = new List<DeltaItem>();
        var diffed = new List<DeltaItem>();
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i] is { } item)
            {
                diffed.Add(item);
                continue;
            }

            var job = plan.DiffJobs[i];
            AddWhole(repo, job.Target, job.Header, job.Size, options, plain, fallbacks);
        }

        var ordered = diffed
            .OrderBy(x => x.Kind)
            .ThenBy(x => plan.WalkIndex[x.Checksum])
            .Concat(plain)
            .ToList();
        return (ordered.Count == 0 ? [] : Pack(ordered, plan.Names, plan.WalkIndex, options), fallbacks);
    }

    // Sorts plain files for compression, moves already-compressed ones to preset-0 parts,
    // and splits the rest so a small delta still spreads across the cores.
    private static List<PlannedPart> Pack(List<DeltaItem> items, Dictionary<Checksum, List<string>> names, Dictionary<Checksum, int> walkIndex, DeltaGenerateOptions options)
    {
        var plain = items.Where(x => x.Kind == DeltaItemKind.Content && !x.Header!.IsSymlink).ToList();
        plain.Sort((a, b) => CompareForCompression(a, b, names));

        // Files that are already compressed (gzip'd man pages and changelogs, images…) go
        // last, into parts xz'd at its fastest preset: no preset shrinks them, and a slow one
        // spends much of its time there. (Not stored uncompressed: ostree 2022.7 mmaps an
        // uncompressed part file at offset 1, which fails, so show and apply-offline refuse it.)
        var stored = plain.Where(x => IsPrecompressed(names[x.Checksum])).ToList();
        plain.RemoveAll(x => IsPrecompressed(names[x.Checksum]));
        var compressedItems = items.Where(x => x.Kind != DeltaItemKind.Content)
            .Concat(plain)
            .Concat(items.Where(x => x.Kind == DeltaItemKind.Content && x.Header!.IsSymlink).OrderBy(x => walkIndex[x.Checksum]))
            .ToList();

        // A small delta would be one part compressed on one core: split it evenly across the
        // cores instead (never past ostree's limit, never below BalancedPartFloor).
        var total = compressedItems.Sum(x => x.PayloadLength);
        var balanced = Math.Max(BalancedPartFloor, (total / (options.SpreadParts ?? options.MaxParallelism)) + 1);
        var parts = compressedItems.Count > 0 || stored.Count == 0
            ? Split(compressedItems, Math.Min(options.MaxChunkSize, balanced), options.CompressionPreset)
            : [];
        if (stored.Count > 0)
        {
            parts.AddRange(Split(stored, options.MaxChunkSize, PrecompressedPreset));
        }

        return parts;
    }

    // Extensions of formats that are compressed already; every name of the object must have one.
    private static readonly HashSet<string> PrecompressedExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        "gz", "tgz", "xz", "txz", "bz2", "tbz2", "zst", "zstd", "lz4", "lzma", "lz", "br", "7z", "zip", "jar", "whl", "apk",
        "deb", "rpm", "png", "jpg", "jpeg", "gif", "webp", "avif", "woff", "woff2", "mp3", "ogg", "opus", "mp4", "webm",
    };

    private static bool IsPrecompressed(List<string> names) =>
        names.TrueForAll(n => PrecompressedExtensions.Contains(Extension(n)));

    // Groups plain files by extension, then name, so alike content shares an xz window.
    private static int CompareForCompression(DeltaItem a, DeltaItem b, Dictionary<Checksum, List<string>> names)
    {
        var na = names[a.Checksum][0];
        var nb = names[b.Checksum][0];
        var c = ExtensionSpan(na).SequenceCompareTo(ExtensionSpan(nb));
        if (c == 0)
        {
            c = string.CompareOrdinal(na, nb);
        }

        if (c == 0)
        {
            c = a.Size.CompareTo(b.Size);
        }

        return c != 0 ? c : a.Checksum.CompareTo(b.Checksum);
    }

    private static ReadOnlySpan<char> ExtensionSpan(string name)
    {
        var dot = name.LastIndexOf('.');
        return dot < 0 ? [] : name.AsSpan(dot + 1);
    }

    private static string Extension(string name) => new(ExtensionSpan(name));

    // ostree's split rule: before a whole object, start a new part when the payload plus
    // the object would pass the limit; before a rollsum or bsdiff object, when the payload
    // already has. Its uncompressed size counts what ostree's part header counts.
    private static List<PlannedPart> Split(IEnumerable<DeltaItem> items, long maxChunkSize, int preset)
    {
        var parts = new List<PlannedPart>();
        var current = new List<DeltaItem>();
        long payload = 0;
        foreach (var item in items)
        {
            var full = item.Kind is DeltaItemKind.Metadata or DeltaItemKind.Content
                ? payload + item.Size > maxChunkSize
                : payload > maxChunkSize;
            if (current.Count > 0 && full)
            {
                parts.Add(new PlannedPart(current, preset));
                current = [];
                payload = 0;
            }

            current.Add(item);
            payload += item.PayloadLength;
        }

        // ostree always finishes the last part, even an empty one (an empty commit).
        if (current.Count > 0 || parts.Count == 0)
        {
            parts.Add(new PlannedPart(current, preset));
        }

        return parts;
    }

    private static Dictionary<Checksum, (FileHeader Header, long Size)> ReadHeaders(OstreeRepo repo, List<Checksum> files, ParallelOptions parallel)
    {
        var results = new (FileHeader, long)[files.Count];
        Unwrap(() => Parallel.For(0, files.Count, parallel, i =>
        {
            try
            {
                results[i] = repo.ReadContentHeader(files[i]);
            }
            catch (FileNotFoundException)
            {
                throw new InvalidDataException($"file {files[i]} is missing from {repo.Root}");
            }
        }));

        var map = new Dictionary<Checksum, (FileHeader, long)>(files.Count);
        for (var i = 0; i < files.Count; i++)
        {
            map[files[i]] = results[i];
        }

        return map;
    }

    // Parallel loops wrap failures in AggregateException; callers get the first real error,
    // one clear line, as from a sequential loop.
    private static void Unwrap(Action loop)
    {
        try
        {
            loop();
        }
        catch (AggregateException e)
        {
            var first = e.Flatten().InnerExceptions.FirstOrDefault(x => x is not OperationCanceledException) ?? e.InnerExceptions[0];
            ExceptionDispatchInfo.Capture(first).Throw();
        }
    }

    private static DeltaSuperblock BuildSuperblock(OstreeRepo repo, DeltaName name, byte[] commitObject, EncodedPart[] parts, List<DeltaFallback> fallbacks, DeltaGenerateOptions options)
    {
        // ostree's order: ostree.endianness, inline parts, then the target's detached metadata.
        var metadata = new VariantDictionary();
        metadata.Set(SummaryFormats.EndiannessKey, new Variant(GVariantTypes.Byte, (byte)'l'));
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].InlineBytes is { } bytes)
            {
                metadata.Set(name.PartPath(i), new Variant(InlinePartType, new object[] { bytes[0], new ReadOnlyMemory<byte>(bytes, 1, bytes.Length - 1) }));
            }
        }

        if (repo.TryReadMetadataBytes(name.To, ObjectType.CommitMeta) is { } detached)
        {
            VariantDictionary parsed;
            try
            {
                parsed = VariantDictionary.Parse(detached);
            }
            catch (InvalidDataException e)
            {
                throw e.WithContext($"commitmeta {name.To}");
            }

            metadata.Set(name.DetachedMetadataKey, new Variant(GVariantTypes.VariantDictionary, parsed.ToValue()));
        }

        return DeltaSuperblock.Create(metadata, options.TimeProvider.GetUtcNow(), name.From, name.To, commitObject, [.. parts.Select(p => p.Header)], fallbacks);
    }

    // (taya{sv}): magic, the superblock bytes, {"ostree.sign.ed25519": aay of detached signatures}.
    private static byte[] Sign(byte[] superblock, IReadOnlyList<Ed25519SecretKey> keys)
    {
        var signatures = keys.Select(k => (object)k.Sign(superblock)).ToArray();
        var map = new VariantDictionary();
        map.Set(SignatureMetadata.Ed25519Key, new Variant(GVariantTypes.ByteArrayArray, signatures));
        return GVariantWriter.Encode(SignedSuperblockType, new object[] { BinaryPrimitives.ReverseEndianness(SignedMagic), superblock, map.ToValue() });
    }

    // The complete delta directory replaces any old one by rename; the old one is removed after.
    private static string Install(OstreeRepo repo, DeltaName name, string staging)
    {
        var destination = Path.Combine(repo.Root, name.RelativeDirectory);
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        string? old = null;
        if (Directory.Exists(destination))
        {
            old = Path.Combine(repo.Root, "tmp", $"delta-old-{Guid.NewGuid():N}");
            Directory.Move(destination, old);
        }

        Directory.Move(staging, destination);
        if (old is not null)
        {
            Directory.Delete(old, recursive: true);
        }

        return destination;
    }

    private static void RefreshIndexAndSummary(OstreeRepo repo, Checksum to)
    {
        var deltas = StaticDeltas.List(repo.Root);
        var index = DeltaIndex.Create(to, deltas.Select(d => new DeltaDigest(d.Name, d.SuperblockDigest)));
        var indexPath = Path.Combine(repo.Root, DeltaName.IndexPathFor(to));
        Directory.CreateDirectory(Path.GetDirectoryName(indexPath)!);
        OstreeRepo.WriteFileAtomically(indexPath, index.Serialize(), repo.Fsync);

        if (!repo.Config.GetBoolean("core", "indexed-deltas", false))
        {
            repo.Config.Set("core", "indexed-deltas", "true");
            repo.SaveConfig();
        }

        // A signed summary is left alone: rewriting it would void the signature, and
        // 'ostree summary -u' (with the signing key) is what refreshes it.
        var summaryPath = Path.Combine(repo.Root, "summary");
        if (!File.Exists(summaryPath) || File.Exists(summaryPath + ".sig"))
        {
            return;
        }

        var summary = Summary.Parse(File.ReadAllBytes(summaryPath));
        if (repo.Config.GetBoolean("core", "no-deltas-in-summary", false))
        {
            return;
        }

        var ordered = GLibHashOrder<DeltaDigest>.Order(deltas.Select(d => new KeyValuePair<string, DeltaDigest>(d.Name.ToString(), new DeltaDigest(d.Name, d.SuperblockDigest))));
        summary.Metadata.Set(SummaryFormats.StaticDeltasKey, DeltaDigest.ToVariant(ordered.Select(e => e.Value)));
        OstreeRepo.WriteFileAtomically(summaryPath, summary.Serialize(), repo.Fsync);
    }
}
