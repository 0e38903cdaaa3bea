using System.Buffers;
using System.Security.Cryptography;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Deltas.Apply;

/// <summary>
/// Applies one delta into one repository: every check that needs no object written comes
/// first (superblock signature, source commit, fallbacks, commit signature), then the
/// commit and the parts are staged in one <see cref="RepoTransaction"/>, and only when all
/// of it is staged and verified do objects become visible, the ref last.
/// </summary>
internal static class DeltaApplication
{
    /// <summary>Largest superblock read: it may carry every part inline.</summary>
    public const int MaxSuperblockLength = 1 << 30;

    /// <summary>Largest decompressed part payload; ostree's parts stay near 32 MB (<c>--max-chunk-size</c>).</summary>
    public const int MaxPartPayloadLength = 1 << 30;

    private const int ReadChunk = 1 << 20;

    private static readonly GVariantType InlinePartType = GVariantType.Parse("(yay)");

    public static async Task<DeltaApplyResult> ApplyAsync(OstreeRepo repo, IDeltaSource source, DeltaApplyOptions options, CancellationToken cancellationToken)
    {
        var file = await source.ReadSuperblockAsync(MaxSuperblockLength, cancellationToken).ConfigureAwait(false);
        var superblockBytes = file;
        VariantDictionary? deltaSignatures = null;
        if (SignedSuperblock.IsSigned(file))
        {
            (superblockBytes, deltaSignatures) = SignedSuperblock.Unwrap(file);
        }

        VerifySuperblockSignature(repo, superblockBytes, deltaSignatures, options.SignaturePolicy);
        var superblock = DeltaSuperblock.Parse(superblockBytes);
        var name = superblock.Name;
        if (options.ExpectedName is { } expected && expected != name)
        {
            DeltaApplyThrowHelper.Invalid($"{source.Description}: the superblock is of delta {name}, not {expected}");
        }

        try
        {
            return await ApplyAsync(repo, source, superblock, options, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext($"delta {name}");
        }
    }

    private static async Task<DeltaApplyResult> ApplyAsync(OstreeRepo repo, IDeltaSource source, DeltaSuperblock superblock, DeltaApplyOptions options, CancellationToken cancellationToken)
    {
        if (superblock.From is { } from && !repo.HasObject(from, ObjectType.Commit))
        {
            DeltaApplyThrowHelper.Invalid($"its source commit {from} is not in the repository");
        }

        // ostree's apply-offline refuses any fallback; one the repo already has needs no fetch.
        foreach (var fallback in superblock.Fallbacks)
        {
            if (!repo.HasObject(fallback.Checksum, fallback.Type))
            {
                DeltaApplyThrowHelper.Invalid($"fallback {fallback.Type.Name()} {fallback.Checksum} is not in the repository (a fallback object is fetched on its own, it is not inside the delta)");
            }
        }

        var detached = superblock.DetachedMetadata;
        SignatureReport? signature = null;
        if (options.SignaturePolicy is { } policy)
        {
            // The detached metadata inside the superblock is what a delta pull verifies (§8.2).
            signature = CommitSignatures.Verify(superblock.To, superblock.CommitObject.Span, detached, policy, options.TimeProvider);
        }

        var tempDirectory = Path.Combine(repo.Root, "tmp");
        Directory.CreateDirectory(tempDirectory);
        using var tx = repo.BeginTransaction();
        var written = 0;
        var present = 0;
        if (tx.HasObject(superblock.To, ObjectType.Commit))
        {
            present++;
        }
        else
        {
            tx.WriteMetadata(ObjectType.Commit, superblock.To, superblock.CommitObject.Span);
            written++;
        }

        if (detached is not null)
        {
            tx.WriteCommitMeta(superblock.To, detached);
        }

        var (partsWritten, partsPresent) = await ExecutePartsAsync(tx, source, superblock, Math.Max(1, options.MaxParallelism), tempDirectory, cancellationToken).ConfigureAwait(false);
        written += partsWritten;
        present += partsPresent;

        await source.CompleteAsync(cancellationToken).ConfigureAwait(false);
        if (options.Ref is { } refName)
        {
            tx.SetRef(refName, superblock.To);
        }

        tx.Commit();
        return new DeltaApplyResult(superblock.Name, written, present, signature);
    }

    /// <summary>
    /// Reads parts in index order on this task and runs each on the thread pool, at most
    /// <paramref name="parallelism"/> at once; a part's file and payload are held only while
    /// it is in flight, so memory is bounded by that many parts.
    /// </summary>
    private static async Task<(int Written, int Present)> ExecutePartsAsync(RepoTransaction tx, IDeltaSource source, DeltaSuperblock superblock, int parallelism, string tempDirectory, CancellationToken cancellationToken)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var gate = new SemaphoreSlim(parallelism);
        var running = new List<Task<(int, int)>>();
        var present = 0;
        try
        {
            for (var i = 0; i < superblock.Parts.Count; i++)
            {
                var header = superblock.Parts[i];
                var have = ObjectsPresent(tx, header);
                if (Array.TrueForAll(have, static h => h))
                {
                    // As ostree does: a part whose objects are all here is not even read.
                    present += header.Objects.Count;
                    continue;
                }

                await gate.WaitAsync(failed.Token).ConfigureAwait(false);
                byte[] file;
                try
                {
                    file = await ReadPartAsync(source, superblock, i, failed.Token).ConfigureAwait(false);
                }
                catch
                {
                    gate.Release();
                    throw;
                }

                var index = i;
                running.Add(Task.Run(
                    () =>
                    {
                        try
                        {
                            return RunPart(tx, index, header, have, file, tempDirectory, parallelism, failed.Token);
                        }
                        catch
                        {
                            failed.Cancel();
                            throw;
                        }
                        finally
                        {
                            gate.Release();
                        }
                    },
                    CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A part failed while the next was being read: report that part's error below.
        }
        catch
        {
            await failed.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(running).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
            throw;
        }

        await Task.WhenAll(running).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
        var firstError = running
            .Where(t => t.IsFaulted)
            .Select(t => t.Exception!.InnerException!)
            .OrderBy(e => e is OperationCanceledException ? 1 : 0)
            .FirstOrDefault();
        if (firstError is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(firstError).Throw();
        }

        cancellationToken.ThrowIfCancellationRequested();
        var written = 0;
        foreach (var task in running)
        {
            var (w, p) = task.Result;
            written += w;
            present += p;
        }

        return (written, present);
    }

    private static (int Written, int Present) RunPart(RepoTransaction tx, int index, DeltaPartHeader header, bool[] have, byte[] file, string tempDirectory, int writers, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Span<byte> hash = stackalloc byte[Checksum.Length];
        SHA256.HashData(file, hash);
        if (!hash.SequenceEqual(header.Checksum.Bytes))
        {
            DeltaApplyThrowHelper.Invalid($"part {index}: checksum mismatch: the part hashes to {Checksum.FromBytes(hash)}, the superblock says {header.Checksum}");
        }

        DeltaPartPayload payload;
        try
        {
            payload = DeltaPartFile.Decode(file, MaxPartPayloadLength);
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext($"part {index}");
        }

        using var executor = new PartExecutor(tx, index, header, have, payload, tempDirectory, writers);
        executor.Execute(cancellationToken);
        return (executor.Written, executor.Present);
    }

    /// <summary>Which of the part's objects the repository (or transaction) already has, in header order.</summary>
    private static bool[] ObjectsPresent(RepoTransaction tx, DeltaPartHeader header)
    {
        var have = new bool[header.Objects.Count];
        for (var i = 0; i < have.Length; i++)
        {
            have[i] = tx.HasObject(header.Objects[i].Checksum, header.Objects[i].Type);
        }

        return have;
    }

    /// <summary>
    /// The part's file bytes, from the superblock when inline, else from the source; a file
    /// whose length differs from the superblock's is refused before more than one byte past
    /// the declared length is read.
    /// </summary>
    private static async Task<byte[]> ReadPartAsync(IDeltaSource source, DeltaSuperblock superblock, int index, CancellationToken cancellationToken)
    {
        var header = superblock.Parts[index];
        if (superblock.Metadata[superblock.Name.PartPath(index)] is { } inline)
        {
            if (inline.Type.Signature != InlinePartType.Signature)
            {
                DeltaApplyThrowHelper.Invalid($"part {index}: inline part has type '{inline.Type.Signature}', expected '(yay)'");
            }

            // The serialised (yay) is the part file: compression byte, then the body.
            var fields = (object[])inline.Value;
            var body = (byte[])fields[1];
            var bytes = new byte[1 + body.Length];
            bytes[0] = (byte)fields[0];
            body.CopyTo(bytes, 1);
            CheckLength(index, header, (ulong)bytes.Length);
            return bytes;
        }

        if (header.Size > (ulong)Array.MaxLength)
        {
            DeltaApplyThrowHelper.Invalid($"part {index}: declared size {header.Size} is too large");
        }

        var stream = await source.OpenPartAsync(index, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            if (stream.CanSeek)
            {
                CheckLength(index, header, (ulong)stream.Length);
            }

            // A seekable stream has shown its length; otherwise grow with what really arrives,
            // never trusting the declared size for an allocation.
            var size = (int)header.Size;
            var data = new byte[stream.CanSeek ? size : Math.Min(size, ReadChunk)];
            var filled = 0;
            while (true)
            {
                if (filled == data.Length)
                {
                    if (filled == size)
                    {
                        // One more byte would mean the part is longer than declared.
                        var probe = ArrayPool<byte>.Shared.Rent(1);
                        try
                        {
                            if (await stream.ReadAsync(probe.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) != 0)
                            {
                                DeltaApplyThrowHelper.Invalid($"part {index}: longer than the {size} bytes the superblock declares");
                            }
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(probe);
                        }

                        return data;
                    }

                    Array.Resize(ref data, (int)Math.Min((long)data.Length * 2, size));
                }

                var n = await stream.ReadAsync(data.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    CheckLength(index, header, (ulong)filled);
                }

                filled += n;
            }
        }
    }

    private static void CheckLength(int index, DeltaPartHeader header, ulong actual)
    {
        if (actual != header.Size)
        {
            DeltaApplyThrowHelper.Invalid($"part {index}: {actual} bytes, the superblock declares {header.Size}");
        }
    }

    private static void VerifySuperblockSignature(OstreeRepo repo, byte[] superblock, VariantDictionary? signatures, SignaturePolicy? policy)
    {
        if (signatures is null)
        {
            // Unsigned: only the commit's own signatures are checked, as for a pull.
            return;
        }

        if (policy?.Ed25519Keys is { } keys)
        {
            Ed25519Signatures.Verify(superblock, signatures, keys).RequireValidSignature("delta superblock");
        }
        else if (repo.Config.GetBoolean("core", "sign-verify-deltas", false))
        {
            // ostree's rule for a signed delta when the repo asks for delta verification.
            throw new SignatureVerificationException("delta superblock: signed, and core.sign-verify-deltas=true, but no ed25519 key was given to verify it", SignatureFailure.NoTrustedKeys);
        }
    }
}
