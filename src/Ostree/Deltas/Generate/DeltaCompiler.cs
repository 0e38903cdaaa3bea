using System.Buffers.Binary;
using System.Collections.Concurrent;
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

        var tmpRoot = Path.Combine(repo.Root, "tmp");
        Directory.CreateDirectory(tmpRoot);
        var staging = Path.Combine(tmpRoot, $"delta-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            // Parts compress independently: largest first keeps every core busy to the end.
            var encoded = new EncodedPart[plan.Parts.Count];
            var order = Enumerable.Range(0, plan.Parts.Count).OrderByDescending(i => plan.Parts[i].Items.Sum(x => x.PayloadLength) * (plan.Parts[i].Preset + 1)).ToArray();
            Unwrap(() => Parallel.ForEach(order, parallel, i =>
                encoded[i] = PartEncoder.Encode(repo, plan.Parts[i], Path.Combine(staging, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), options.Inline, cancellationToken)));

            var superblock = BuildSuperblock(repo, name, plan, encoded, options);
            var superblockBytes = superblock.Serialize();
            if (options.SignKeys.Count > 0)
            {
                superblockBytes = Sign(superblockBytes, options.SignKeys);
            }

            File.WriteAllBytes(Path.Combine(staging, DeltaName.SuperblockFileName), superblockBytes);
            cancellationToken.ThrowIfCancellationRequested();
            var directory = Install(repo, name, staging);
            RefreshIndexAndSummary(repo, to);

            var partBytes = encoded.Sum(p => (long)p.Header.Size);
            return new DeltaGenerateResult(name, directory, encoded.Length, partBytes, plan.Fallbacks.Count, plan.Fallbacks.Sum(f => (long)f.CompressedSize), superblockBytes.Length);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private sealed record DeltaPlan(byte[] CommitObject, List<PlannedPart> Parts, List<DeltaFallback> Fallbacks);

    private static DeltaPlan Plan(OstreeRepo repo, Checksum? from, Checksum to, DeltaGenerateOptions options, ParallelOptions parallel)
    {
        var toClosure = CommitClosure.Walk(repo, to);
        var fromClosure = from is { } f ? CommitClosure.Walk(repo, f) : null;

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
        var rollsum = new ConcurrentDictionary<Checksum, DeltaItem>();
        var bsdiff = new ConcurrentDictionary<Checksum, DeltaItem>();
        if (fromClosure is not null)
        {
            var newRegular = newFiles.Where(c => !headers[c].Header.IsSymlink).ToList();
            if (newRegular.Count > 0)
            {
                var oldHeaders = ReadHeaders(repo, fromClosure.FileOrder, parallel);
                var oldCandidates = fromClosure.FileOrder
                    .Where(c => !oldHeaders[c].Header.IsSymlink)
                    .Select(c => new SimilarFiles.Candidate(c, oldHeaders[c].Size, fromClosure.Files[c]));
                var newCandidates = newRegular.Select(c => new SimilarFiles.Candidate(c, headers[c].Size, toClosure.Files[c]));
                var similar = SimilarFiles.Find(oldCandidates, newCandidates);

                // Largest first: the longest diffs start early and finish with the rest.
                var jobs = similar
                    .Where(p => (oldHeaders[p.Value].Header.Mode & OtherRead) != 0)
                    .OrderByDescending(p => headers[p.Key].Size)
                    .ToList();
                Unwrap(() => Parallel.ForEach(jobs, parallel, pair =>
                {
                    var (target, source) = (pair.Key, pair.Value);
                    var (header, size) = headers[target];
                    var oldSize = oldHeaders[source].Size;
                    var newData = ContentReader.ReadAll(repo, target, size);
                    var oldData = ContentReader.ReadAll(repo, source, oldSize);
                    var matches = Rollsum.Match(oldData, newData);
                    if (matches.IsWorthUsing)
                    {
                        rollsum[target] = DeltaItem.ForRollsum(target, header, size, source, matches.Matches);
                    }
                    else if (!options.DisableBsdiff && size + oldSize <= options.MaxBsdiffSize)
                    {
                        bsdiff[target] = DeltaItem.ForBsdiff(target, header, size, source, Bsdiff.Diff(oldData, newData));
                    }
                }));
            }
        }

        // Order inside each group is ours (ostree's is hash order): walk order for diffs,
        // similar files next to each other for plain content, which xz rewards.
        var walkIndex = new Dictionary<Checksum, int>(toClosure.FileOrder.Count);
        for (var i = 0; i < toClosure.FileOrder.Count; i++)
        {
            walkIndex[toClosure.FileOrder[i]] = i;
        }

        var fallbacks = new List<DeltaFallback>();
        var plain = new List<DeltaItem>();
        var symlinks = new List<DeltaItem>();
        foreach (var checksum in newFiles)
        {
            var (header, size) = headers[checksum];
            if (header.IsSymlink)
            {
                symlinks.Add(DeltaItem.ForContent(checksum, header, size));
                continue;
            }

            if (rollsum.ContainsKey(checksum) || bsdiff.ContainsKey(checksum))
            {
                continue;
            }

            if (options.MinFallbackSize > 0 && size > options.MinFallbackSize)
            {
                // ostree_repo_query_object_storage_size: the loose object file's length.
                var storage = new FileInfo(repo.ObjectPath(checksum, ObjectType.File)).Length;
                fallbacks.Add(new DeltaFallback(ObjectType.File, checksum, (ulong)storage, (ulong)size));
                continue;
            }

            plain.Add(DeltaItem.ForContent(checksum, header, size));
        }

        var names = toClosure.Files;
        plain.Sort((a, b) => CompareForCompression(a, b, names));

        // Files that are already compressed (gzip'd man pages and changelogs, images…) go
        // last, into parts xz'd at its fastest preset: no preset shrinks them, and a slow one
        // spends much of its time there. (Not stored uncompressed: ostree 2022.7 mmaps an
        // uncompressed part file at offset 1, which fails, so show and apply-offline refuse it.)
        var stored = plain.Where(x => IsPrecompressed(names[x.Checksum])).ToList();
        plain.RemoveAll(x => IsPrecompressed(names[x.Checksum]));
        var compressed = metadataItems
            .Concat(rollsum.Values.OrderBy(x => walkIndex[x.Checksum]))
            .Concat(bsdiff.Values.OrderBy(x => walkIndex[x.Checksum]))
            .Concat(plain)
            .Concat(symlinks);
        var parts = Split(compressed, options.MaxChunkSize, options.CompressionPreset);
        if (stored.Count > 0)
        {
            parts.AddRange(Split(stored, options.MaxChunkSize, PrecompressedPreset));
        }

        return new DeltaPlan(toClosure.CommitObject, parts, fallbacks);
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
        var c = string.CompareOrdinal(Extension(na), Extension(nb));
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

    private static DeltaSuperblock BuildSuperblock(OstreeRepo repo, DeltaName name, DeltaPlan plan, EncodedPart[] parts, DeltaGenerateOptions options)
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

        return DeltaSuperblock.Create(metadata, options.TimeProvider.GetUtcNow(), name.From, name.To, plan.CommitObject, [.. parts.Select(p => p.Header)], plan.Fallbacks);
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
