using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>
/// A summary for repos that have refs but no <c>summary</c> file, kept consistent with
/// the refs and deltas: it is rebuilt whenever a ref file or the deltas change (checked by
/// their modification times on each summary request, which clients make once per pull).
/// Deltas are listed in the summary; it says <c>indexed-deltas</c> only when the repo
/// publishes <c>delta-indexes/</c>, so clients never look for indexes that are not there.
/// A repo whose refs leave no correct summary to make gets none (404), and a warning in the log.
/// </summary>
public sealed class GeneratedSummary(OstreeRepo repo, ILogger<GeneratedSummary> logger)
{
    private readonly Lock _lock = new();
    private string? _fingerprint;
    private RepoFile? _current;

    /// <summary>The summary for the current refs, or null when the repo has no local refs.</summary>
    public RepoFile? Get()
    {
        var fingerprint = Fingerprint(out var newest);
        lock (_lock)
        {
            if (fingerprint == _fingerprint)
            {
                return _current;
            }

            _current = Build(newest);
            _fingerprint = fingerprint;
            return _current;
        }
    }

    private RepoFile? Build(DateTimeOffset newest)
    {
        SummaryBuilder builder;
        try
        {
            if (repo.ListRefs(RefKind.Head).Count == 0)
            {
                return null;
            }

            builder = SummaryBuilder.ForRepository(repo);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or KeyNotFoundException)
        {
            // A dangling or unreadable ref, or one naming a commit this repo lacks (a partial
            // repo completed by an upstream), leaves no correct summary to make. Without one
            // (404) clients read refs/heads/REF instead; an exception here used to answer 500,
            // which `ostree pull` retries and then fails on, for every ref.
            Log.SummaryGenerationFailed(logger, repo.Root, e);
            return null;
        }

        // Clients pull only from archive repos; non-archive ones are transcoded on the fly.
        builder.Mode = RepoMode.Archive.ToConfigString();
        // The newest ref/delta change, so the bytes (and ETag) are stable between changes.
        builder.LastModified = newest;
        builder.IndexedDeltas = Directory.Exists(Path.Combine(repo.Root, "delta-indexes"));
        var bytes = builder.Build().Serialize();
        var etag = ContentTag.Compute("summary", bytes);
        return RepoFile.InMemory(bytes, etag, newest, new RepoPath("summary", RepoFileKind.Summary).CacheControl);
    }

    private string Fingerprint(out DateTimeOffset newest)
    {
        var latest = DateTime.UnixEpoch;
        var parts = new List<string>();
        foreach (var root in new[] { "refs/heads", "refs/mirrors", "deltas" })
        {
            var dir = new DirectoryInfo(Path.Combine(repo.Root, root));
            if (!dir.Exists)
            {
                continue;
            }

            foreach (var entry in dir.EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
            {
                parts.Add($"{entry.FullName}:{entry.LastWriteTimeUtc.Ticks}");
                if (entry.LastWriteTimeUtc > latest)
                {
                    latest = entry.LastWriteTimeUtc;
                }
            }
        }

        newest = new DateTimeOffset(latest, TimeSpan.Zero);
        parts.Sort(StringComparer.Ordinal);
        return string.Join('\n', parts);
    }
}
