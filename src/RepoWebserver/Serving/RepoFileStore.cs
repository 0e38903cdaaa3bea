using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Posix;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>Settings of <see cref="RepoFileStore"/>.</summary>
public sealed record RepoFileStoreOptions
{
    /// <summary>Immutable files up to this size are kept in memory after the first request.</summary>
    public int MemoryCacheMaxFileSize { get; init; } = 256 * 1024;

    /// <summary>Total bytes of the in-memory cache of small immutable files.</summary>
    public long MemoryCacheBudget { get; init; } = 48L << 20;

    /// <summary>Where <c>.filez</c> synthesised from bare/bare-user repos are cached.</summary>
    public string TranscodeCacheDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "repo-webserver-filez");

    /// <summary>Disk budget of the transcode cache.</summary>
    public long TranscodeCacheBudget { get; init; } = 1L << 30;
}

/// <summary>
/// A file to answer with. When resolving it had to open the file, <see cref="Handle"/> is
/// that open file, to send from without a second path walk; the caller disposes it.
/// </summary>
public readonly record struct ResolvedFile(RepoFile File, SafeFileHandle? Handle) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose() => Handle?.Dispose();
}

/// <summary>
/// Maps an allowed <see cref="RepoPath"/> to the file to serve: from disk for archive repos;
/// <c>.filez</c> synthesised for other modes; the repo's own <c>config</c>, its <c>[core]</c>
/// group saying archive-z2 for other modes (<see cref="ServedConfig"/>);
/// a generated summary when the repo has none. Every on-disk file is resolved with
/// <c>realpath</c> and must stay inside the repository, so a symlink planted in the repo
/// cannot expose anything outside it. Immutable files are resolved once and cached.
/// </summary>
/// <remarks>
/// A file is opened once, with <c>O_NOFOLLOW</c>, by its name in its directory, which is
/// held open from the first request for a file in it (and checked with <c>realpath</c>
/// then); its type and validators come from <c>fstat</c> on that open file, which is then
/// sent. That is one short lookup per object where a <c>stat</c> and a later <c>open</c>
/// of the full path walked every component twice.
/// </remarks>
public sealed class RepoFileStore : IDisposable
{
    private readonly OstreeRepo _repo;
    private readonly RepoFileStoreOptions _options;
    private readonly string _root;
    private readonly Lock _configLock = new();
    private (UnixStat Stat, RepoFile File)? _config;
    private readonly GeneratedSummary _summary;
    private readonly FilezTranscoder? _transcoder;
    private readonly ConcurrentDictionary<string, RepoFile> _immutable = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SafeFileHandle> _directories = new(StringComparer.Ordinal);
    private long _memoryBytes;

    /// <summary>Serves <paramref name="repo"/>; problems it answers 404 for are logged to <paramref name="loggerFactory"/>.</summary>
    public RepoFileStore(OstreeRepo repo, RepoFileStoreOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(options);
        _repo = repo;
        _options = options;
        _root = FileSystem.RealPath(repo.Root) ?? throw new DirectoryNotFoundException($"{repo.Root}: repository vanished");
        _summary = new GeneratedSummary(repo, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<GeneratedSummary>());
        if (!repo.IsArchive)
        {
            _transcoder = new FilezTranscoder(repo, options.TranscodeCacheDirectory, options.TranscodeCacheBudget);
        }
    }

    /// <summary>The repository served.</summary>
    public OstreeRepo Repo => _repo;

    /// <summary>The file for <paramref name="path"/>, or null (404).</summary>
    public async ValueTask<ResolvedFile?> ResolveAsync(RepoPath path, CancellationToken cancellationToken)
    {
        if (_immutable.TryGetValue(path.Relative, out var cached))
        {
            return new ResolvedFile(cached.PhysicalPath is null ? cached : Promote(path, cached), null);
        }

        switch (path.Kind)
        {
            case RepoFileKind.Config:
                return Config() is { } config ? new ResolvedFile(config, null) : null;
            case RepoFileKind.Summary:
                return OnDisk(path) ?? (_summary.Get() is { } generated ? new ResolvedFile(generated, null) : null);
            case RepoFileKind.SummarySignature:
            {
                // A signature only makes sense for the summary file it signed.
                if (OnDisk(new RepoPath("summary", RepoFileKind.Summary)) is not { } summary)
                {
                    return null;
                }

                summary.Dispose();
                return OnDisk(path);
            }

            case RepoFileKind.Object when _transcoder is not null && path.Relative.EndsWith(".filez", StringComparison.Ordinal):
            {
                var checksum = Checksum.Parse(string.Concat(path.Relative.AsSpan(8, 2), path.Relative.AsSpan(11, 62)));
                for (var attempt = 1; ; attempt++)
                {
                    var transcoded = await _transcoder.GetAsync(checksum, cancellationToken).ConfigureAwait(false);
                    if (transcoded is null)
                    {
                        return null;
                    }

                    try
                    {
                        return new ResolvedFile(Remember(path, FromStat(transcoded, path.CacheControl), allowPhysical: false), null);
                    }
                    catch (FileNotFoundException) when (attempt < 3)
                    {
                        // Evicted by another transcode, or removed from the cache folder,
                        // before we could read it: make it again.
                        _transcoder.Forget(checksum);
                    }
                }
            }

            case RepoFileKind.Object or RepoFileKind.Delta:
                return OnDisk(path) is { } file ? file with { File = Remember(path, file.File, allowPhysical: true) } : null;
            default:
                return OnDisk(path);
        }
    }

    /// <summary>Forgets a cached entry (its file vanished, e.g. evicted from the transcode cache).</summary>
    public void Forget(RepoPath path) => _immutable.TryRemove(path.Relative, out _);

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var directory in _directories.Values)
        {
            directory.Dispose();
        }

        _directories.Clear();
    }

    /// <summary>
    /// The config to serve (<see cref="ServedConfig"/>), rebuilt when the file changes:
    /// <c>static-delta generate</c> or <c>ostree config set</c> may edit it while the server
    /// runs, and a client must see <c>indexed-deltas</c> as soon as the indexes exist. Null
    /// (404) when the file is gone, not a regular file, or implausibly large.
    /// </summary>
    private RepoFile? Config()
    {
        var path = new RepoPath("config", RepoFileKind.Config);
        SafeFileHandle handle;
        try
        {
            handle = FileSystem.OpenReadNoFollow(Path.Combine(_root, path.Relative));
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        using (handle)
        {
            var stat = UnixStat.FStat(handle);
            lock (_configLock)
            {
                if (_config is { } cached && cached.Stat == stat)
                {
                    return cached.File;
                }
            }

            if (!StatMode.IsRegular(stat.Mode) || stat.Size > ServedConfig.MaxLength)
            {
                return null;
            }

            var disk = new byte[stat.Size];
            var length = 0;
            for (int read; length < disk.Length && (read = FileSystem.Read(handle, disk.AsSpan(length), length)) > 0;)
            {
                length += read;
            }

            var bytes = ServedConfig.Build(disk.AsSpan(0, length), transcoded: !_repo.IsArchive);
            // Strong ETag over the bytes served: equal files give equal tags, across restarts too.
            var etag = ContentTag.Compute("config", bytes);
            var file = RepoFile.InMemory(bytes, etag, DateTimeOffset.FromUnixTimeMilliseconds(stat.ModifiedMilliseconds), path.CacheControl);
            lock (_configLock)
            {
                _config = (stat, file);
            }

            return file;
        }
    }

    /// <summary>Opens the regular file at <paramref name="path"/>; null when absent, not a regular file, or outside the repo.</summary>
    private ResolvedFile? OnDisk(RepoPath path)
    {
        var full = Path.Combine(_root, path.Relative);
        SafeFileHandle? handle;
        try
        {
            if (path.Kind == RepoFileKind.Ref)
            {
                // Refs may be symlinks to other refs (aliases); follow them, but only inside the repo.
                var real = FileSystem.RealPath(full);
                if (real is null || !real.StartsWith(_root + "/", StringComparison.Ordinal))
                {
                    return null;
                }

                full = real;
                handle = FileSystem.OpenReadNoFollow(real);
            }
            else if (path.Relative.LastIndexOf('/') is var slash and > 0)
            {
                handle = OpenInDirectory(path.Relative[..slash], path.Relative[(slash + 1)..]);
                if (handle is null)
                {
                    return null;
                }
            }
            else
            {
                // summary, summary.sig: by path, so a repo swapped in under the server is seen at once.
                handle = FileSystem.OpenReadNoFollow(full);
            }
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        try
        {
            // O_NOFOLLOW refused a symlink; the file itself must also be a regular file.
            var stat = UnixStat.FStat(handle);
            if (!StatMode.IsRegular(stat.Mode))
            {
                handle.Dispose();
                return null;
            }

            return new ResolvedFile(
                RepoFile.OnDisk(full, stat.Size, stat.Inode, DateTimeOffset.FromUnixTimeMilliseconds(stat.ModifiedMilliseconds), path.CacheControl),
                handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens <paramref name="name"/> in the repo directory <paramref name="relative"/>; null
    /// when that directory is not plain. When the name is absent, the directory held open
    /// may be stale (the repo was deleted and made again, or swapped for another by a
    /// rename): it is then opened afresh. A name found in a stale directory is the same
    /// content-addressed object, so that costs nothing on the hot path.
    /// </summary>
    private SafeFileHandle? OpenInDirectory(string relative, string name)
    {
        while (true)
        {
            var directory = PlainDirectory(relative);
            if (directory is null)
            {
                return null;
            }

            try
            {
                return FileSystem.OpenReadNoFollow(directory, name);
            }
            catch (FileNotFoundException) when (IsStale(relative, directory))
            {
                if (_directories.TryRemove(new KeyValuePair<string, SafeFileHandle>(relative, directory)))
                {
                    directory.Dispose();
                }
            }
        }
    }

    /// <summary>Whether <paramref name="directory"/> is no longer what the repo path <paramref name="relative"/> names.</summary>
    private bool IsStale(string relative, SafeFileHandle directory)
    {
        try
        {
            return UnixStat.FStat(directory).Inode != UnixStat.LStat(Path.Combine(_root, relative)).Inode;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>
    /// The open directory <paramref name="relative"/> (e.g. <c>objects/ab</c>), or null unless
    /// it resolves to itself inside the repo: no component is a symlink. Checked with
    /// realpath once, when it is first opened.
    /// </summary>
    private SafeFileHandle? PlainDirectory(string relative)
    {
        if (_directories.TryGetValue(relative, out var directory))
        {
            return directory;
        }

        var expected = Path.Combine(_root, relative);
        if (FileSystem.RealPath(expected) != expected)
        {
            return null;
        }

        try
        {
            directory = FileSystem.OpenDirectoryNoFollow(expected);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        var kept = _directories.GetOrAdd(relative, directory);
        if (kept != directory)
        {
            directory.Dispose();
        }

        return kept;
    }

    private static RepoFile FromStat(string path, string cacheControl)
    {
        var stat = UnixStat.LStat(path);
        return RepoFile.OnDisk(path, stat.Size, stat.Inode, DateTimeOffset.FromUnixTimeMilliseconds(stat.ModifiedMilliseconds), cacheControl);
    }

    /// <summary>
    /// Caches an immutable file. Archive files are remembered by path on the first request
    /// and sent from disk (a pull fetches each object once: copying it into memory too
    /// would only cost CPU and garbage); small ones move into memory on their second
    /// request (<see cref="Promote"/>). Synthesised <c>.filez</c> live in an evictable
    /// cache folder, so small ones are read into memory at once and large ones are not
    /// remembered.
    /// </summary>
    private RepoFile Remember(RepoPath path, RepoFile file, bool allowPhysical)
    {
        if (allowPhysical)
        {
            return _immutable.GetOrAdd(path.Relative, file);
        }

        return TryReadIntoMemory(path, file) ?? file;
    }

    /// <summary>A remembered on-disk file requested again: small ones are now kept in memory.</summary>
    private RepoFile Promote(RepoPath path, RepoFile onDisk)
    {
        if (onDisk.Length > _options.MemoryCacheMaxFileSize || Interlocked.Increment(ref onDisk.Hits) != 1)
        {
            return onDisk;
        }

        try
        {
            return TryReadIntoMemory(path, onDisk, onDisk) ?? onDisk;
        }
        catch (IOException)
        {
            // Gone or unreadable now: let the send report it (404 after a fresh resolve).
            return onDisk;
        }
    }

    /// <summary>
    /// Reads the <paramref name="length"/> bytes of <paramref name="path"/> into an array on
    /// the pinned object heap, or null when the file is shorter now. Cached files live as
    /// long as the server: on the ordinary heap the GC copied each of them from generation
    /// to generation while the cache filled, so serving a bare-user repo peaked at about
    /// twice the cache budget in RSS. Pinned arrays are never moved (nor zeroed first).
    /// </summary>
    private static byte[]? ReadPinned(string path, int length)
    {
        var bytes = GC.AllocateUninitializedArray<byte>(length, pinned: true);
        using var handle = FileSystem.OpenReadNoFollow(path);
        for (var done = 0; done < length;)
        {
            var read = FileSystem.Read(handle, bytes.AsSpan(done), done);
            if (read == 0)
            {
                return null;
            }

            done += read;
        }

        return bytes;
    }

    private RepoFile? TryReadIntoMemory(RepoPath path, RepoFile file, RepoFile? replacing = null)
    {
        if (file.Length > _options.MemoryCacheMaxFileSize || Interlocked.Read(ref _memoryBytes) + file.Length > _options.MemoryCacheBudget)
        {
            return null;
        }

        var bytes = ReadPinned(file.PhysicalPath!, (int)file.Length);
        if (bytes is null)
        {
            return null;
        }

        var inMemory = file.WithBytes(bytes);
        var added = replacing is null
            ? _immutable.TryAdd(path.Relative, inMemory)
            : _immutable.TryUpdate(path.Relative, inMemory, replacing);
        if (added)
        {
            Interlocked.Add(ref _memoryBytes, bytes.Length);
        }

        return inMemory;
    }
}
