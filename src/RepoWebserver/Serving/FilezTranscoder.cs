using System.Collections.Concurrent;
using System.IO.Compression;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>
/// Serves bare and bare-user repos as if they were archive-z2: a <c>.filez</c> request is
/// answered by reading the <c>.file</c> object, writing the archive header and a raw
/// DEFLATE stream. Results are kept in a disk cache bounded by a byte budget (oldest
/// entries evicted first); the content is verified against its checksum while it is
/// transcoded, so a corrupt source object is never served.
/// </summary>
public sealed class FilezTranscoder
{
    private readonly OstreeRepo _repo;
    private readonly string _cacheDirectory;
    private readonly long _budget;
    private readonly ConcurrentDictionary<Checksum, Lazy<Task<string?>>> _inFlight = new();
    private readonly ConcurrentQueue<(Checksum Checksum, string Path, long Size)> _entries = new();

    /// <summary>
    /// The transcoded files in the cache folder. A repeat pull asks for every object again:
    /// looking it up here instead of stat'ing the folder saves a path walk per request.
    /// </summary>
    private readonly ConcurrentDictionary<Checksum, string> _cached = new();
    private long _cachedBytes;

    /// <summary>Creates a transcoder caching under <paramref name="cacheDirectory"/> up to <paramref name="budget"/> bytes.</summary>
    public FilezTranscoder(OstreeRepo repo, string cacheDirectory, long budget)
    {
        ArgumentNullException.ThrowIfNull(repo);
        _repo = repo;
        _cacheDirectory = cacheDirectory;
        _budget = budget;
        Directory.CreateDirectory(cacheDirectory);
        // Start empty: a previous run's files may be from another repo.
        foreach (var stale in Directory.EnumerateFiles(cacheDirectory, "*.filez"))
        {
            File.Delete(stale);
        }
    }

    /// <summary>Bytes currently held in the disk cache.</summary>
    public long CachedBytes => Interlocked.Read(ref _cachedBytes);

    /// <summary>The path of the transcoded <c>.filez</c> for <paramref name="checksum"/>, or null when the repo lacks the object.</summary>
    /// <exception cref="InvalidDataException">The source object is corrupt.</exception>
    public Task<string?> GetAsync(Checksum checksum, CancellationToken cancellationToken)
    {
        if (_cached.TryGetValue(checksum, out var cached))
        {
            // Evicted before the caller opens it: the caller resolves again.
            return Task.FromResult<string?>(cached);
        }

        // One transcode per object even when many clients ask at once.
        var lazy = _inFlight.GetOrAdd(checksum, c => new Lazy<Task<string?>>(() => Task.Run(() => Transcode(c), CancellationToken.None)));
        return lazy.Value.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Forgets the cached file for <paramref name="checksum"/> (it vanished from the cache
    /// folder, e.g. removed by a temp-file cleaner), so the next request transcodes again.
    /// </summary>
    public void Forget(Checksum checksum) => _cached.TryRemove(checksum, out _);

    private string? Transcode(Checksum checksum)
    {
        try
        {
            if (!_repo.HasObject(checksum, ObjectType.File))
            {
                return null;
            }

            var final = CachePath(checksum);
            var temp = $"{final}.{Environment.CurrentManagedThreadId}.tmp";
            long size;
            try
            {
                using (var content = _repo.OpenContent(checksum))
                using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024))
                {
                    try
                    {
                        ArchiveContent.WriteVerified(content, output, CompressionLevel.Fastest);
                    }
                    catch (InvalidDataException e)
                    {
                        throw new InvalidDataException($"{e.Message}; not serving a corrupt object", e);
                    }

                    size = output.Length;
                }
            }
            catch
            {
                // A corrupt or unreadable source leaves no partial file in the cache.
                File.Delete(temp);
                throw;
            }

            // Make room before publishing: the new file is then never evicted by the call that
            // made it (with a budget below one file's size it used to be deleted before it could
            // be served, and the request failed with 500).
            Interlocked.Add(ref _cachedBytes, size);
            Evict();
            File.Move(temp, final, overwrite: true);
            _cached[checksum] = final;
            _entries.Enqueue((checksum, final, size));
            return final;
        }
        finally
        {
            _inFlight.TryRemove(checksum, out _);
        }
    }

    private void Evict()
    {
        while (Interlocked.Read(ref _cachedBytes) > _budget && _entries.TryDequeue(out var oldest))
        {
            _cached.TryRemove(oldest.Checksum, out _);
            try
            {
                File.Delete(oldest.Path);
            }
            catch (IOException)
            {
                // A reader may still hold it open; unlinking is still fine on Linux.
            }

            Interlocked.Add(ref _cachedBytes, -oldest.Size);
        }
    }

    private string CachePath(Checksum checksum) => Path.Combine(_cacheDirectory, checksum + ".filez");
}
