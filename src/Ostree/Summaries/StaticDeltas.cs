using System.Security.Cryptography;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>A static delta found in a repository: its name, superblock file and the SHA-256 of that file.</summary>
/// <param name="Name">From/to commits.</param>
/// <param name="SuperblockPath">Full path of the <c>superblock</c> file.</param>
/// <param name="SuperblockDigest">SHA-256 of the superblock file: the digest listed in summaries and delta indexes.</param>
public sealed record StaticDelta(DeltaName Name, string SuperblockPath, Checksum SuperblockDigest);

/// <summary>Finds the static deltas in a repository directory, as <c>ostree static-delta list</c> does.</summary>
public static class StaticDeltas
{
    /// <summary>
    /// Lists every delta under <c>REPO/deltas/</c>: each <c>deltas/XX/REST/</c> directory that
    /// holds a <c>superblock</c> file (ostree_repo_list_static_delta_names), in directory
    /// order, with the SHA-256 of the superblock. An absent <c>deltas/</c> means no deltas.
    /// </summary>
    /// <exception cref="InvalidDataException">A directory with a superblock is not named after a delta.</exception>
    public static IReadOnlyList<StaticDelta> List(string repoPath)
    {
        var result = new List<StaticDelta>();
        Span<byte> digest = stackalloc byte[Checksum.Length];
        foreach (var (name, superblock) in Find(repoPath))
        {
            using var stream = OpenSequential(superblock);
            SHA256.HashData(stream, digest);
            result.Add(new StaticDelta(name, superblock, Checksum.FromBytes(digest)));
        }

        return result;
    }

    /// <summary>Asynchronous <see cref="List"/>: superblocks can be large when parts are inlined.</summary>
    /// <exception cref="InvalidDataException">A directory with a superblock is not named after a delta.</exception>
    public static async Task<IReadOnlyList<StaticDelta>> ListAsync(string repoPath, CancellationToken cancellationToken = default)
    {
        var result = new List<StaticDelta>();
        foreach (var (name, superblock) in Find(repoPath))
        {
            var stream = OpenSequential(superblock);
            await using (stream.ConfigureAwait(false))
            {
                var digest = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
                result.Add(new StaticDelta(name, superblock, Checksum.FromBytes(digest)));
            }
        }

        return result;
    }

    private static List<(DeltaName Name, string Superblock)> Find(string repoPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(repoPath);
        var deltas = new DirectoryInfo(Path.Combine(repoPath, DeltaName.DeltasDirectory));
        var found = new List<(DeltaName, string)>();
        if (!deltas.Exists)
        {
            return found;
        }

        // ostree takes only real directories at both levels (d_type DT_DIR, symlinks skipped)
        // and keeps readdir order, which this enumeration also returns.
        foreach (var first in deltas.EnumerateDirectories())
        {
            if (first.LinkTarget is not null)
            {
                continue;
            }

            foreach (var second in first.EnumerateDirectories())
            {
                var superblock = Path.Combine(second.FullName, DeltaName.SuperblockFileName);
                if (second.LinkTarget is not null || !File.Exists(superblock))
                {
                    continue;
                }

                if (!DeltaName.TryParseSplitName(first.Name, second.Name, out var name))
                {
                    throw new InvalidDataException($"{DeltaName.DeltasDirectory}/{first.Name}/{second.Name}: holds a superblock but is not named after a static delta");
                }

                found.Add((name, superblock));
            }
        }

        return found;
    }

    private static FileStream OpenSequential(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 64 * 1024, FileOptions.SequentialScan | FileOptions.Asynchronous);
}
