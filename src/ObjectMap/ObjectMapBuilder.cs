using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using OstreeContainer.Ostree;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.ObjectMap;

/// <summary>
/// Builds an object map from commits of a repository. The database is built in memory in
/// one transaction, then written compactly with <c>VACUUM INTO</c> to a temporary file
/// beside the output, flushed, and renamed into place: a failed or cancelled build leaves
/// no output (and an existing map untouched). The same commits give the same bytes.
/// </summary>
public static class ObjectMapBuilder
{
    /// <summary>Value of the <c>generator</c> meta key.</summary>
    public const string Generator = "ostree-container";

    /// <summary>
    /// Writes the object map of <paramref name="revs"/> (checksums, refs or
    /// <c>REMOTE:REF</c>) to <paramref name="outputPath"/>, replacing any file there.
    /// Content objects are read only as far as their headers.
    /// </summary>
    /// <exception cref="ArgumentException">No revs.</exception>
    /// <exception cref="KeyNotFoundException">A rev names no ref.</exception>
    /// <exception cref="InvalidDataException">An object is missing or malformed; the message names the commit, the path and the object.</exception>
    /// <exception cref="IOException">The output cannot be written (its directory missing, disk full…).</exception>
    public static ObjectMapStatistics Build(OstreeRepo repo, IEnumerable<string> revs, string outputPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(revs);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        var commits = ResolveCommits(repo, revs);

        var output = Path.GetFullPath(outputPath);
        var directory = Path.GetDirectoryName(output)!;
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{outputPath}: directory {directory} does not exist");
        }

        var temporary = Path.Combine(directory, $".{Path.GetFileName(output)}.tmp-{Guid.NewGuid():N}");
        try
        {
            int entries;
            int contentObjects;
            using (var connection = new SqliteConnection("Data Source=:memory:"))
            {
                connection.Open();
                using (var transaction = connection.BeginTransaction())
                {
                    Execute(connection, ObjectMapSchema.CreateTables);
                    using var writer = new Writer(repo, connection, cancellationToken);
                    for (var i = 0; i < commits.Count; i++)
                    {
                        writer.AddCommit(id: i + 1, commits[i].Checksum, commits[i].Refs);
                    }

                    Execute(connection, ObjectMapSchema.CreateIndexes);
                    writer.AddMeta(ObjectMapSchema.VersionKey, ObjectMapSchema.Version.ToString(CultureInfo.InvariantCulture));
                    writer.AddMeta(ObjectMapSchema.GeneratorKey, Generator);
                    transaction.Commit();
                    (entries, contentObjects) = (writer.Entries, writer.ContentObjects);
                }

                cancellationToken.ThrowIfCancellationRequested();
                using var vacuum = connection.CreateCommand();
                vacuum.CommandText = ObjectMapSchema.WriteCompactCopy;
                vacuum.Parameters.AddWithValue("$path", temporary);
                vacuum.ExecuteNonQuery();
            }

            using (var file = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            {
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, output, overwrite: true);
            return new ObjectMapStatistics(commits.Count, entries, contentObjects, new FileInfo(output).Length);
        }
        catch (SqliteException e)
        {
            // Bad input surfaces before SQLite sees it; what is left is I/O (disk full, permissions).
            throw new IOException($"{outputPath}: writing the object map failed: {e.Message}", e);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The distinct commits in the order first named, each with its refs: the revs that were names, and every ref in the repo pointing at it.</summary>
    private static List<(Checksum Checksum, SortedSet<string> Refs)> ResolveCommits(OstreeRepo repo, IEnumerable<string> revs)
    {
        var result = new List<(Checksum Checksum, SortedSet<string> Refs)>();
        var byChecksum = new Dictionary<Checksum, SortedSet<string>>();
        foreach (var rev in revs)
        {
            var checksum = repo.ResolveRev(rev);
            if (!byChecksum.TryGetValue(checksum, out var refs))
            {
                refs = new SortedSet<string>(StringComparer.Ordinal);
                byChecksum.Add(checksum, refs);
                result.Add((checksum, refs));
            }

            if (!Checksum.TryParse(rev, out _))
            {
                refs.Add(rev);
            }
        }

        if (result.Count == 0)
        {
            throw new ArgumentException("an object map needs at least one commit", nameof(revs));
        }

        foreach (var (name, target) in repo.ListRefs())
        {
            if (byChecksum.TryGetValue(target, out var refs))
            {
                refs.Add(name.ToString());
            }
        }

        return result;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Header facts of a content object, read once per checksum whatever the number of paths using it.</summary>
    private sealed record ContentInfo(string Type, uint Mode, uint Uid, uint Gid, long Size, string? SymlinkTarget, string? Xattrs);

    /// <summary>Walks commits and inserts their rows through prepared statements.</summary>
    private sealed class Writer : IDisposable
    {
        private readonly OstreeRepo _repo;
        private readonly SqliteConnection _connection;
        private readonly CancellationToken _cancellationToken;
        private readonly SqliteCommand _insertEntry;
        private readonly SqliteParameter[] _entry;
        private readonly Dictionary<Checksum, ContentInfo> _contents = [];
        private readonly Dictionary<Checksum, (DirMeta Meta, string? Xattrs)> _dirMetas = [];

        public Writer(OstreeRepo repo, SqliteConnection connection, CancellationToken cancellationToken)
        {
            _repo = repo;
            _connection = connection;
            _cancellationToken = cancellationToken;
            _insertEntry = Prepare(ObjectMapSchema.InsertEntry, ["$commit_id", "$parent", "$name", "$type", "$checksum", "$dirmeta", "$mode", "$uid", "$gid", "$size", "$symlink_target", "$xattrs"], out _entry);
        }

        public int Entries { get; private set; }

        public int ContentObjects => _contents.Count;

        public void AddMeta(string key, string value)
        {
            using var command = Prepare(ObjectMapSchema.InsertMeta, ["$key", "$value"], out var p);
            p[0].Value = key;
            p[1].Value = value;
            command.ExecuteNonQuery();
        }

        public void AddCommit(int id, Checksum checksum, IEnumerable<string> refs)
        {
            var commit = ReadObject(() => _repo.ReadCommit(checksum));
            if (commit.Timestamp > long.MaxValue)
            {
                throw new InvalidDataException($"commit {checksum}: timestamp: {commit.Timestamp} is out of range");
            }

            using (var insert = Prepare(ObjectMapSchema.InsertCommit, ["$id", "$checksum", "$subject", "$body", "$timestamp", "$version", "$parent", "$root_dirtree", "$root_dirmeta", "$metadata"], out var p))
            {
                p[0].Value = id;
                p[1].Value = Blob(checksum);
                p[2].Value = commit.Subject;
                p[3].Value = commit.Body;
                p[4].Value = (long)commit.Timestamp;
                p[5].Value = (object?)commit.Version ?? DBNull.Value;
                p[6].Value = commit.Parent is { } parent ? Blob(parent) : DBNull.Value;
                p[7].Value = Blob(commit.RootTree);
                p[8].Value = Blob(commit.RootMeta);
                p[9].Value = MetadataJson.Format(commit.Metadata);
                insert.ExecuteNonQuery();
            }

            using (var insert = Prepare(ObjectMapSchema.InsertRef, ["$ref", "$commit_id"], out var p))
            {
                foreach (var name in refs)
                {
                    p[0].Value = name;
                    p[1].Value = id;
                    insert.ExecuteNonQuery();
                }
            }

            try
            {
                WalkTree(id, commit.RootTree, commit.RootMeta);
            }
            catch (InvalidDataException e)
            {
                throw e.WithContext($"commit {checksum}");
            }
        }

        public void Dispose() => _insertEntry.Dispose();

        /// <summary>Inserts every path under the root, depth first, with an explicit stack (a hostile tree may nest deeply).</summary>
        private void WalkTree(int commitId, Checksum rootTree, Checksum rootMeta)
        {
            var pending = new Stack<(string Path, Checksum Tree, Checksum Meta)>();
            pending.Push((MapPath.Root, rootTree, rootMeta));
            while (pending.Count > 0)
            {
                _cancellationToken.ThrowIfCancellationRequested();
                var (path, treeChecksum, metaChecksum) = pending.Pop();
                var (parent, name) = MapPath.Split(path);
                DirMeta meta;
                string? metaXattrs;
                DirTree tree;
                try
                {
                    (meta, metaXattrs) = ReadDirMeta(metaChecksum);
                    tree = ReadObject(() => _repo.ReadDirTree(treeChecksum));
                }
                catch (InvalidDataException e)
                {
                    throw e.WithContext(path);
                }

                Insert(commitId, parent, name, ObjectMapSchema.TypeDirectory, treeChecksum, metaChecksum, meta.Mode, meta.Uid, meta.Gid, 0, null, metaXattrs);
                var childParent = MapPath.ChildParent(path);
                foreach (var file in tree.Files)
                {
                    var content = ReadContent(file.Checksum, childParent, file.Name);
                    Insert(commitId, childParent, file.Name, content.Type, file.Checksum, null, content.Mode, content.Uid, content.Gid, content.Size, content.SymlinkTarget, content.Xattrs);
                }

                // Pushed in reverse so directories are visited in name order.
                for (var i = tree.Directories.Count - 1; i >= 0; i--)
                {
                    var dir = tree.Directories[i];
                    pending.Push((MapPath.Join(childParent, dir.Name), dir.TreeChecksum, dir.MetaChecksum));
                }
            }
        }

        private (DirMeta Meta, string? Xattrs) ReadDirMeta(Checksum checksum)
        {
            if (!_dirMetas.TryGetValue(checksum, out var entry))
            {
                var meta = ReadObject(() => _repo.ReadDirMeta(checksum));
                entry = (meta, XattrsJson(meta.Xattrs));
                _dirMetas.Add(checksum, entry);
            }

            return entry;
        }

        private ContentInfo ReadContent(Checksum checksum, string childParent, string name)
        {
            if (_contents.TryGetValue(checksum, out var info))
            {
                return info;
            }

            FileHeader header;
            long size;
            try
            {
                (header, size) = ReadObject(() => _repo.ReadContentHeader(checksum));
            }
            catch (InvalidDataException e)
            {
                throw e.WithContext(MapPath.Join(childParent, name));
            }

            info = header.IsSymlink
                ? new ContentInfo(ObjectMapSchema.TypeSymlink, header.Mode, header.Uid, header.Gid, 0, header.SymlinkTarget, XattrsJson(header.Xattrs))
                : new ContentInfo(ObjectMapSchema.TypeFile, header.Mode, header.Uid, header.Gid, size, null, XattrsJson(header.Xattrs));
            _contents.Add(checksum, info);
            return info;
        }

        private void Insert(int commitId, string parent, string name, string type, Checksum checksum, Checksum? dirMeta, uint mode, uint uid, uint gid, long size, string? target, string? xattrs)
        {
            _entry[0].Value = commitId;
            _entry[1].Value = parent;
            _entry[2].Value = name;
            _entry[3].Value = type;
            _entry[4].Value = Blob(checksum);
            _entry[5].Value = dirMeta is { } m ? Blob(m) : DBNull.Value;
            _entry[6].Value = mode;
            _entry[7].Value = uid;
            _entry[8].Value = gid;
            _entry[9].Value = size;
            _entry[10].Value = (object?)target ?? DBNull.Value;
            _entry[11].Value = (object?)xattrs ?? DBNull.Value;
            _insertEntry.ExecuteNonQuery();
            Entries++;
        }

        private SqliteCommand Prepare(string sql, string[] names, out SqliteParameter[] parameters)
        {
            var command = _connection.CreateCommand();
            command.CommandText = sql;
            parameters = new SqliteParameter[names.Length];
            for (var i = 0; i < names.Length; i++)
            {
                parameters[i] = command.CreateParameter();
                parameters[i].ParameterName = names[i];
                command.Parameters.Add(parameters[i]);
            }

            command.Prepare();
            return command;
        }

        /// <summary>Reads an object the commit references: a missing one is bad data here, reported by type and checksum.</summary>
        private static T ReadObject<T>(Func<T> read)
        {
            try
            {
                return read();
            }
            catch (FileNotFoundException e)
            {
                throw new InvalidDataException(e.Message, e);
            }
        }

        private static byte[] Blob(Checksum checksum) => checksum.Bytes.ToArray();

        private static string? XattrsJson(IReadOnlyList<Xattr> xattrs) =>
            xattrs.Count == 0 ? null : JsonSerializer.Serialize(xattrs, ObjectMapJsonContext.Default.IReadOnlyListXattr);
    }
}
