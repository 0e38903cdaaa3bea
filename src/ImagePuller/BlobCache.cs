using System.Buffers;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Sources;

namespace OstreeContainer.ImagePuller;

/// <summary>
/// Downloaded layer blobs kept under the target repo's <c>tmp/ostree-container-blobs/</c>:
/// <c>HEX.partial</c> while a download is under way (a rerun continues it with an HTTP
/// Range request), <c>HEX</c> once its size and digest are verified. The cache is only a
/// speed-up: a blob found complete from an earlier run is verified again when it is imported.
/// </summary>
public sealed class BlobCache
{
    /// <summary>The cache directory under the repo.</summary>
    public const string DirectoryName = "tmp/ostree-container-blobs";

    /// <summary>Times a broken blob download is resumed before the pull gives up.</summary>
    public const int MaxResumes = 8;

    private const int CopyBufferSize = 256 * 1024;

    /// <summary>A cache in <paramref name="repoPath"/>.</summary>
    public BlobCache(string repoPath)
    {
        ArgumentNullException.ThrowIfNull(repoPath);
        Directory = Path.Combine(repoPath, DirectoryName);
    }

    /// <summary>The cache directory.</summary>
    public string Directory { get; }

    /// <summary>Path of a completed blob (which may not exist).</summary>
    public string CompletePath(Digest digest) => Path.Combine(Directory, digest.Hex);

    /// <summary>Path of a partial download.</summary>
    public string PartialPath(Digest digest) => Path.Combine(Directory, digest.Hex + ".partial");

    /// <summary>
    /// Makes sure the blob is complete in the cache: continues a partial download, retries
    /// broken connections from where they stopped, and verifies size and digest before the
    /// file takes its final name. <paramref name="progress"/> receives bytes done so far.
    /// </summary>
    /// <returns>
    /// Bytes transferred over the network by this call, and whether this call hashed the
    /// whole blob (false when a complete blob from an earlier run was found as it is).
    /// </returns>
    /// <exception cref="InvalidDataException">The blob does not match its descriptor (the partial file is discarded).</exception>
    public async Task<BlobFetch> FetchAsync(ImageSource source, Descriptor blob, Action<long> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(progress);
        System.IO.Directory.CreateDirectory(Directory);
        var complete = CompletePath(blob.Digest);
        if (File.Exists(complete) && new FileInfo(complete).Length == blob.Size)
        {
            progress(blob.Size);
            return new BlobFetch(0, Verified: false);
        }

        var partial = PartialPath(blob.Digest);
        long transferred = 0;
        using var hasher = blob.Digest.CreateHasher();
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            // FileShare.None: a second pull into the same repo must not interleave writes.
            await using var file = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
            if (file.Length > blob.Size)
            {
                file.SetLength(0);
            }

            // Hash what an earlier run left, then continue after it.
            int n;
            while ((n = await file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hasher.AppendData(buffer, 0, n);
            }

            var offset = file.Length;
            progress(offset);
            for (var attempt = 0; offset < blob.Size; attempt++)
            {
                try
                {
                    await using var body = await source.OpenBlobUnverifiedAsync(blob, offset, cancellationToken).ConfigureAwait(false);
                    while (offset < blob.Size
                        && (n = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, blob.Size - offset)), cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                        hasher.AppendData(buffer, 0, n);
                        offset += n;
                        transferred += n;
                        progress(offset);
                    }

                    if (offset < blob.Size)
                    {
                        throw new IOException($"the connection ended after {offset} of {blob.Size} bytes");
                    }
                }
                catch (Exception e) when (e is IOException or TimeoutException or HttpRequestException && attempt < MaxResumes && !cancellationToken.IsCancellationRequested)
                {
                    // A dropped or stalled connection: continue from what is on disk.
                    await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            var actual = Digest.FromHasher(hasher);
            if (actual != blob.Digest)
            {
                file.SetLength(0);
                throw new InvalidDataException($"blob {blob.Digest}: the {blob.Size} bytes received hash to {actual}");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        File.Move(partial, complete, overwrite: true);
        return new BlobFetch(transferred, Verified: true);
    }

    /// <summary>Deletes the cached copies of <paramref name="digests"/>.</summary>
    public void Remove(IEnumerable<Digest> digests)
    {
        ArgumentNullException.ThrowIfNull(digests);
        if (!System.IO.Directory.Exists(Directory))
        {
            return;
        }

        foreach (var digest in digests)
        {
            File.Delete(CompletePath(digest));
            File.Delete(PartialPath(digest));
        }
    }
}

/// <summary>What <see cref="BlobCache.FetchAsync"/> did: bytes received, and whether it hashed the whole blob.</summary>
public readonly record struct BlobFetch(long Transferred, bool Verified);
