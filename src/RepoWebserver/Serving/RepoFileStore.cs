using System.Collections.Concurrent;
using System.Text;
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
/// Maps an allowed <see cref="RepoPath"/> to the file to serve: from disk for archive repos;
/// <c>.filez</c> synthesised for other modes; a <c>config</c> that always says archive-z2;
/// a generated summary when the repo has none. Every on-disk file is resolved with
/// <c>realpath</c> and must stay inside the repository, so a symlink planted in the repo
/// cannot expose anything outside it. Immutable files are resolved once and cached.
/// </summary>
public sealed class RepoFileStore
{
    private static readonly byte[] ArchiveConfig = Encoding.ASCII.GetBytes("[core]\nrepo_version=1\nmode=archive-z2\n");

    private readonly OstreeRepo _repo;
    private readonly RepoFileStoreOptions _options;
    private readonly string _root;
    private readonly RepoFile _config;
    private readonly GeneratedSummary _summary;
    private readonly FilezTranscoder? _transcoder;
    private readonly ConcurrentDictionary<string, RepoFile> _immutable = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _plainDirectories = new(StringComparer.Ordinal);
    private long _memoryBytes;

    /// <summary>Serves <paramref name="repo"/>.</summary>
    public RepoFileStore(OstreeRepo repo, RepoFileStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(options);
        _repo = repo;
        _options = options;
        _root = FileSystem.RealPath(repo.Path) ?? throw new DirectoryNotFoundException($"{repo.Path}: repository vanished");
        var configTime = File.GetLastWriteTimeUtc(Path.Combine(repo.Path, "config"));
        _config = RepoFile.InMemory(ArchiveConfig, "\"config-archive-z2\"", configTime, new RepoPath("config", RepoFileKind.Config).CacheControl);
        _summary = new GeneratedSummary(repo);
        if (!repo.IsArchive)
        {
            _transcoder = new FilezTranscoder(repo, options.TranscodeCacheDirectory, options.TranscodeCacheBudget);
        }
    }

    /// <summary>The repository served.</summary>
    public OstreeRepo Repo => _repo;

    /// <summary>The file for <paramref name="path"/>, or null (404).</summary>
    public async ValueTask<RepoFile?> ResolveAsync(RepoPath path, CancellationToken cancellationToken)
    {
        if (_immutable.TryGetValue(path.Relative, out var cached))
        {
            return cached.PhysicalPath is null ? cached : Promote(path, cached);
        }

        switch (path.Kind)
        {
            case RepoFileKind.Config:
                return _config;
            case RepoFileKind.Summary:
                return OnDisk(path) ?? _summary.Get();
            case RepoFileKind.SummarySignature:
                // A signature only makes sense for the summary file it signed.
                return OnDisk(new RepoPath("summary", RepoFileKind.Summary)) is null ? null : OnDisk(path);
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
                        return Remember(path, FromStat(transcoded, path.CacheControl), allowPhysical: false);
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
                return OnDisk(path) is { } file ? Remember(path, file, allowPhysical: true) : null;
            default:
                return OnDisk(path);
        }
    }

    /// <summary>Forgets a cached entry (its file vanished, e.g. evicted from the transcode cache).</summary>
    public void Forget(RepoPath path) => _immutable.TryRemove(path.Relative, out _);

    private RepoFile? OnDisk(RepoPath path)
    {
        var full = Path.Combine(_root, path.Relative);
        if (path.Kind == RepoFileKind.Ref)
        {
            // Refs may be symlinks to other refs (aliases); follow them, but only inside the repo.
            var real = FileSystem.RealPath(full);
            if (real is null || !real.StartsWith(_root + "/", StringComparison.Ordinal))
            {
                return null;
            }

            full = real;
        }
        else if (!IsPlainDirectory(Path.GetDirectoryName(path.Relative)!))
        {
            return null;
        }

        try
        {
            // lstat: the file itself must be a regular file, never a symlink.
            var stat = UnixStat.LStat(full);
            return StatMode.IsRegular(stat.Mode) ? FromStat(full, path.CacheControl, stat) : null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (IOException)
        {
            // ENOTDIR and friends: a path component is not a directory.
            return null;
        }
    }

    /// <summary>
    /// Whether <paramref name="relative"/> (e.g. <c>objects/ab</c>) resolves to itself inside
    /// the repo: no component is a symlink. Checked once per directory with realpath.
    /// </summary>
    private bool IsPlainDirectory(string relative)
    {
        if (relative.Length == 0)
        {
            return true;
        }

        if (_plainDirectories.ContainsKey(relative))
        {
            return true;
        }

        var expected = Path.Combine(_root, relative);
        if (FileSystem.RealPath(expected) != expected)
        {
            return false;
        }

        _plainDirectories.TryAdd(relative, true);
        return true;
    }

    private static RepoFile FromStat(string path, string cacheControl, UnixStat? known = null)
    {
        var stat = known ?? UnixStat.LStat(path);
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

    private RepoFile? TryReadIntoMemory(RepoPath path, RepoFile file, RepoFile? replacing = null)
    {
        if (file.Length > _options.MemoryCacheMaxFileSize || Interlocked.Read(ref _memoryBytes) + file.Length > _options.MemoryCacheBudget)
        {
            return null;
        }

        var bytes = File.ReadAllBytes(file.PhysicalPath!);
        if (bytes.Length != file.Length)
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
