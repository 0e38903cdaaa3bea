using System.Collections.Concurrent;
using System.Security.Cryptography;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Repository;

/// <summary>One corrupt or missing object found by <see cref="RepoFsck"/>.</summary>
public sealed record FsckProblem(ObjectType Type, Checksum Checksum, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Type.Name()} {Checksum}: {Message}";
}

/// <summary>What <see cref="RepoFsck"/> checked and found.</summary>
public sealed record FsckReport(int Commits, int DirTrees, int DirMetas, int Files, IReadOnlyList<FsckProblem> Problems)
{
    /// <summary>No problem found.</summary>
    public bool IsClean => Problems.Count == 0;
}

/// <summary>
/// Verifies every object reachable from the refs (and their parents, where present):
/// metadata hashes to its name and parses; content is decoded and re-hashed. Content
/// objects are verified on every core. Problems are collected, not thrown, so one run
/// names every corrupt or missing object.
/// </summary>
public static class RepoFsck
{
    /// <summary>Checks <paramref name="repo"/>. <paramref name="commits"/> overrides the starting points (default: every ref).</summary>
    public static FsckReport Run(OstreeRepo repo, IEnumerable<Checksum>? commits = null, int parallelism = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var problems = new ConcurrentQueue<FsckProblem>();
        var seenMeta = new HashSet<(Checksum, ObjectType)>();
        var files = new HashSet<Checksum>();
        int commitCount = 0, treeCount = 0, metaCount = 0;

        var pending = new Stack<Checksum>(commits ?? repo.ListRefs().Select(r => r.Value).Distinct());
        while (pending.TryPop(out var commitChecksum))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!seenMeta.Add((commitChecksum, ObjectType.Commit)))
            {
                continue;
            }

            var commit = Load(repo, commitChecksum, ObjectType.Commit, d => Commit.Parse(d), problems);
            if (commit is null)
            {
                continue;
            }

            commitCount++;
            CheckCommitMeta(repo, commitChecksum, problems);
            if (commit.Parent is { } parent && repo.HasObject(parent, ObjectType.Commit))
            {
                // Missing parents are normal (shallow pulls); present ones are checked.
                pending.Push(parent);
            }

            WalkTree(repo, commit.RootTree, commit.RootMeta, seenMeta, files, problems, ref treeCount, ref metaCount);
        }

        Parallel.ForEach(
            files,
            new ParallelOptions { MaxDegreeOfParallelism = parallelism > 0 ? parallelism : Environment.ProcessorCount, CancellationToken = cancellationToken },
            () => new GVariantWriter(512),
            (file, _, writer) =>
            {
                if (VerifyContent(repo, file, writer) is { } message)
                {
                    problems.Enqueue(new FsckProblem(ObjectType.File, file, message));
                }

                return writer;
            },
            writer => writer.Dispose());

        var sorted = problems.OrderBy(p => p.Checksum).ThenBy(p => p.Type).ToList();
        return new FsckReport(commitCount, treeCount, metaCount, files.Count, sorted);
    }

    private static void WalkTree(OstreeRepo repo, Checksum tree, Checksum meta, HashSet<(Checksum, ObjectType)> seen, HashSet<Checksum> files, ConcurrentQueue<FsckProblem> problems, ref int treeCount, ref int metaCount)
    {
        if (seen.Add((meta, ObjectType.DirMeta)) && Load(repo, meta, ObjectType.DirMeta, d => DirMeta.Parse(d), problems) is not null)
        {
            metaCount++;
        }

        if (!seen.Add((tree, ObjectType.DirTree)))
        {
            return;
        }

        var dirtree = Load(repo, tree, ObjectType.DirTree, d => DirTree.Parse(d), problems);
        if (dirtree is null)
        {
            return;
        }

        treeCount++;
        foreach (var f in dirtree.Files)
        {
            files.Add(f.Checksum);
        }

        foreach (var d in dirtree.Directories)
        {
            WalkTree(repo, d.TreeChecksum, d.MetaChecksum, seen, files, problems, ref treeCount, ref metaCount);
        }
    }

    private static T? Load<T>(OstreeRepo repo, Checksum checksum, ObjectType type, Func<byte[], T> parse, ConcurrentQueue<FsckProblem> problems, bool missingIsProblem = true)
        where T : class
    {
        try
        {
            var data = repo.TryReadMetadataBytes(checksum, type);
            if (data is null)
            {
                if (missingIsProblem)
                {
                    problems.Enqueue(new FsckProblem(type, checksum, "missing"));
                }

                return null;
            }

            var actual = Checksum.Compute(data);
            if (actual != checksum)
            {
                problems.Enqueue(new FsckProblem(type, checksum, $"corrupt: content hashes to {actual}"));
                return null;
            }

            return parse(data);
        }
        catch (InvalidDataException e)
        {
            problems.Enqueue(new FsckProblem(type, checksum, $"corrupt: {e.Message}"));
            return null;
        }
        catch (IOException e)
        {
            problems.Enqueue(new FsckProblem(type, checksum, $"unreadable: {e.Message}"));
            return null;
        }
    }

    private static void CheckCommitMeta(OstreeRepo repo, Checksum commit, ConcurrentQueue<FsckProblem> problems)
    {
        try
        {
            repo.ReadCommitMeta(commit);
        }
        catch (InvalidDataException e)
        {
            problems.Enqueue(new FsckProblem(ObjectType.CommitMeta, commit, $"corrupt: {e.Message}"));
        }
    }

    /// <summary>Re-hashes one content object; returns a problem description or null.</summary>
    private static string? VerifyContent(OstreeRepo repo, Checksum checksum, GVariantWriter writer)
    {
        try
        {
            using var content = repo.OpenContent(checksum);
            writer.Reset();
            content.Header.WriteContentHeader(writer);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            hash.AppendData(writer.WrittenSpan);
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(256 * 1024);
            try
            {
                int n;
                while ((n = content.Content.Read(buffer, 0, buffer.Length)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }

            var actual = Checksum.From(hash);
            return actual == checksum ? null : $"corrupt: content hashes to {actual}";
        }
        catch (FileNotFoundException)
        {
            return "missing";
        }
        catch (InvalidDataException e)
        {
            return $"corrupt: {e.Message}";
        }
        catch (IOException e)
        {
            return $"unreadable: {e.Message}";
        }
    }
}
