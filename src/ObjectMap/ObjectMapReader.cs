using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ObjectMap;

/// <summary>
/// Queries an object map. Safe for many threads at once: each query rents a read-only
/// connection with its statements already prepared from a pool and returns it after. The
/// map is opened <c>immutable</c> (it is never modified once renamed into place), so reads
/// take no file locks, and memory-mapped, so pooled connections share the OS page cache.
/// </summary>
public sealed class ObjectMapReader : IDisposable
{
    /// <summary>Idle connections kept for reuse; more are opened under load and closed when returned.</summary>
    private const int MaxIdleSessions = 32;

    /// <summary>Bytes of the map each connection reads through mmap (the whole map, in practice).</summary>
    private const long MmapSize = 256L << 20;

    /// <summary>Entry columns before the extra ones a query appends (see <c>ObjectMapSchema.EntryColumns</c>).</summary>
    private const int EntryColumnCount = 9;

    private readonly string _connectionString;
    private readonly ConcurrentQueue<Session> _idle = new();
    private readonly ObjectMapCommit[] _commits;
    private readonly IReadOnlyList<ObjectMapCommit> _commitList;
    private readonly Dictionary<long, int> _rankById;
    private readonly long[] _idByRank;
    private readonly Dictionary<Checksum, long> _idByChecksum;
    private readonly Dictionary<string, long> _idByRef;
    private int _idleCount;
    private volatile bool _disposed;

    private ObjectMapReader(string path, string connectionString)
    {
        Path = path;
        _connectionString = connectionString;
        var session = OpenSession(path, connectionString);
        try
        {
            CheckVersion(path, session.Connection);
            (_commits, _idByRank, var refs) = LoadCommits(path, session.Connection);
            _commitList = Array.AsReadOnly(_commits);
            _rankById = [];
            _idByChecksum = [];
            for (var rank = 0; rank < _commits.Length; rank++)
            {
                _rankById.Add(_idByRank[rank], rank);
                _idByChecksum.Add(_commits[rank].Checksum, _idByRank[rank]);
            }

            _idByRef = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (name, id) in refs)
            {
                _idByRef[name] = id;
            }
        }
        catch
        {
            session.Dispose();
            throw;
        }

        Return(session);
    }

    /// <summary>The map file.</summary>
    public string Path { get; }

    /// <summary>Opens a map read-only and checks its schema version.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not an object map, or a schema version this build does not read.</exception>
    public static ObjectMapReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"object map {path} does not exist", full);
        }

        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = $"file:{EscapeUriPath(full)}?immutable=1",
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString();
        try
        {
            return new ObjectMapReader(full, connectionString);
        }
        catch (SqliteException e)
        {
            throw new InvalidDataException($"{path}: not an object map: {e.Message}", e);
        }
    }

    /// <summary>The commits the map covers, newest (by timestamp) first.</summary>
    public IReadOnlyList<ObjectMapCommit> ListCommits() => _commitList;

    /// <summary>
    /// The commit named by <paramref name="commit"/>: a full checksum or a ref recorded in the
    /// map; null means the newest commit.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The map does not cover it.</exception>
    public ObjectMapCommit ResolveCommit(string? commit) => _commits[_rankById[ResolveId(commit)]];

    /// <summary>Like <see cref="ResolveCommit"/>, but false when the map does not cover <paramref name="commit"/>.</summary>
    public bool TryResolveCommit(string? commit, [NotNullWhen(true)] out ObjectMapCommit? found)
    {
        found = TryResolveId(commit, out var id) ? _commits[_rankById[id]] : null;
        return found is not null;
    }

    /// <summary>Looks up one path (absolute; a relative one is taken from the root) in the newest commit.</summary>
    public bool TryGetEntry(string path, [NotNullWhen(true)] out ObjectMapEntry? entry) => TryGetEntry(path, null, out entry);

    /// <summary>
    /// Looks up one path in <paramref name="commit"/> (see <see cref="ResolveCommit"/>).
    /// Paths are matched exactly as the commit spells them: <c>/usr/etc/os-release</c>,
    /// not <c>/etc/os-release</c>.
    /// </summary>
    /// <returns>False when the commit has no such path.</returns>
    /// <exception cref="Errors.UserInputException">The path holds <c>.</c>, <c>..</c> or NUL.</exception>
    /// <exception cref="KeyNotFoundException">The map does not cover <paramref name="commit"/>.</exception>
    public bool TryGetEntry(string path, string? commit, [NotNullWhen(true)] out ObjectMapEntry? entry)
    {
        var canonical = MapPath.Normalize(path);
        var commitId = ResolveId(commit);
        var (parent, name) = MapPath.Split(canonical);
        var session = Rent();
        try
        {
            session.Entry.Parameters[0].Value = commitId;
            session.Entry.Parameters[1].Value = parent;
            session.Entry.Parameters[2].Value = name;
            using var reader = session.Entry.ExecuteReader();
            entry = reader.Read() ? ReadEntry(reader, CommitOf(commitId), canonical) : null;
        }
        catch (SqliteException e)
        {
            throw QueryFailed(e);
        }
        finally
        {
            Return(session);
        }

        return entry is not null;
    }

    /// <summary>Every (commit, path) using <paramref name="checksum"/> — a content object, or a dirtree — newest commit first, then by path.</summary>
    public IReadOnlyList<CommitPath> FindPaths(Checksum checksum)
    {
        var found = new List<(int Rank, string Path)>();
        var session = Rent();
        try
        {
            session.Paths.Parameters[0].Value = checksum.Bytes.ToArray();
            using var reader = session.Paths.ExecuteReader();
            while (reader.Read())
            {
                found.Add((RankOf(reader.GetInt64(0)), reader.GetString(1)));
            }
        }
        catch (SqliteException e)
        {
            throw QueryFailed(e);
        }
        finally
        {
            Return(session);
        }

        found.Sort(static (a, b) => a.Rank != b.Rank ? a.Rank.CompareTo(b.Rank) : string.CompareOrdinal(a.Path, b.Path));
        var result = new CommitPath[found.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new CommitPath(_commits[found[i].Rank].Checksum, found[i].Path);
        }

        return result;
    }

    /// <summary>The entries of a directory in <paramref name="commit"/>, in OSTree's (byte-wise) name order.</summary>
    /// <returns>Null when the commit has no such path or it is not a directory.</returns>
    /// <exception cref="Errors.UserInputException">The path holds <c>.</c>, <c>..</c> or NUL.</exception>
    /// <exception cref="KeyNotFoundException">The map does not cover <paramref name="commit"/>.</exception>
    public IReadOnlyList<ObjectMapEntry>? ListDirectory(string path, string? commit = null)
    {
        if (!TryGetEntry(path, commit, out var directory) || directory.Type != EntryType.Directory)
        {
            return null;
        }

        var commitId = ResolveId(commit);
        var childParent = MapPath.ChildParent(directory.Path);
        var entries = new List<ObjectMapEntry>();
        var session = Rent();
        try
        {
            session.Children.Parameters[0].Value = commitId;
            session.Children.Parameters[1].Value = childParent;
            using var reader = session.Children.ExecuteReader();
            while (reader.Read())
            {
                entries.Add(ReadEntry(reader, directory.Commit, MapPath.Join(childParent, reader.GetString(EntryColumnCount))));
            }
        }
        catch (SqliteException e)
        {
            throw QueryFailed(e);
        }
        finally
        {
            Return(session);
        }

        return entries;
    }

    /// <summary>
    /// What changed from <paramref name="from"/> to <paramref name="to"/> (each a checksum or
    /// a ref recorded in the map): every added, removed and changed path.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The map does not cover one of them.</exception>
    public ObjectMapDiff Diff(string from, string to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var fromId = ResolveId(from);
        var toId = ResolveId(to);
        var session = Rent();
        try
        {
            return new ObjectMapDiff(
                CommitOf(fromId),
                CommitOf(toId),
                QueryPaths(session.Connection, ObjectMapSchema.SelectAdded, fromId, toId),
                QueryPaths(session.Connection, ObjectMapSchema.SelectRemoved, fromId, toId),
                QueryPaths(session.Connection, ObjectMapSchema.SelectChanged, fromId, toId));
        }
        catch (SqliteException e)
        {
            throw QueryFailed(e);
        }
        finally
        {
            Return(session);
        }
    }

    /// <summary>Closes every idle connection; connections in use close when their query ends.</summary>
    public void Dispose()
    {
        _disposed = true;
        CloseIdle();
    }

    private static ObjectMapEntry ReadEntry(SqliteDataReader reader, Checksum commit, string path)
    {
        var typeText = reader.GetString(0);
        var type = typeText switch
        {
            ObjectMapSchema.TypeFile => EntryType.File,
            ObjectMapSchema.TypeSymlink => EntryType.Symlink,
            ObjectMapSchema.TypeDirectory => EntryType.Directory,
            _ => throw new InvalidDataException($"object map entry {path}: type: unknown '{typeText}'"),
        };
        return new ObjectMapEntry(
            commit,
            path,
            type,
            ReadChecksum(reader, 1, path),
            reader.IsDBNull(2) ? null : ReadChecksum(reader, 2, path),
            (uint)reader.GetInt64(3),
            (uint)reader.GetInt64(4),
            (uint)reader.GetInt64(5),
            reader.GetInt64(6),
            reader.IsDBNull(7) ? null : reader.GetString(7),
            reader.IsDBNull(8) ? [] : ParseXattrs(reader.GetString(8), path));
    }

    private static Checksum ReadChecksum(SqliteDataReader reader, int ordinal, string what)
    {
        try
        {
            return Checksum.FromBytes(reader.GetFieldValue<byte[]>(ordinal));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"object map entry {what}: {reader.GetName(ordinal)}: {e.Message}", e);
        }
    }

    private static IReadOnlyList<Xattr> ParseXattrs(string json, string path)
    {
        try
        {
            return JsonSerializer.Deserialize(json, ObjectMapJsonContext.Default.IReadOnlyListXattr)
                ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"object map entry {path}: xattrs: {e.Message}", e);
        }
    }

    private static List<string> QueryPaths(SqliteConnection connection, string sql, long fromId, long toId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$from", fromId);
        command.Parameters.AddWithValue("$to", toId);
        var paths = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                paths.Add(reader.GetString(0));
            }
        }

        paths.Sort(StringComparer.Ordinal);
        return paths;
    }

    private static void CheckVersion(string path, SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = ObjectMapSchema.SelectVersion;
        var version = command.ExecuteScalar() as string;
        if (version != ObjectMapSchema.Version.ToString(CultureInfo.InvariantCulture))
        {
            throw new InvalidDataException(
                $"{path}: object map schema version '{version ?? "(none)"}' is not supported (this build reads version {ObjectMapSchema.Version})");
        }
    }

    private static (ObjectMapCommit[] Commits, long[] Ids, List<(string Ref, long Id)> Refs) LoadCommits(string path, SqliteConnection connection)
    {
        var refs = new List<(string Ref, long Id)>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = ObjectMapSchema.SelectRefs;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                refs.Add((reader.GetString(0), reader.GetInt64(1)));
            }
        }

        var commits = new List<ObjectMapCommit>();
        var ids = new List<long>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = ObjectMapSchema.SelectCommits;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var id = reader.GetInt64(0);
                var checksum = ReadChecksum(reader, 1, "commit");
                JsonElement metadata;
                try
                {
                    using var document = JsonDocument.Parse(reader.GetString(9));
                    metadata = document.RootElement.Clone();
                }
                catch (JsonException e)
                {
                    throw new InvalidDataException($"{path}: commit {checksum}: metadata: {e.Message}", e);
                }

                var commitRefs = refs.Where(r => r.Id == id).Select(r => r.Ref).ToArray();
                commits.Add(new ObjectMapCommit(
                    checksum,
                    commitRefs,
                    reader.GetString(2),
                    reader.GetString(3),
                    DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(4)),
                    reader.IsDBNull(5) ? null : reader.GetString(5),
                    reader.IsDBNull(6) ? null : ReadChecksum(reader, 6, "commit"),
                    ReadChecksum(reader, 7, "commit"),
                    ReadChecksum(reader, 8, "commit"),
                    metadata));
                ids.Add(id);
            }
        }

        if (commits.Count == 0)
        {
            throw new InvalidDataException($"{path}: the object map covers no commit");
        }

        return ([.. commits], [.. ids], refs);
    }

    private long ResolveId(string? commit) =>
        TryResolveId(commit, out var id) ? id : throw new KeyNotFoundException($"commit '{commit}' is not in object map {Path}");

    private bool TryResolveId(string? commit, out long id)
    {
        if (commit is null)
        {
            id = _idByRank[0];
            return true;
        }

        return Checksum.TryParse(commit, out var checksum) ? _idByChecksum.TryGetValue(checksum, out id) : _idByRef.TryGetValue(commit, out id);
    }

    private int RankOf(long id) =>
        _rankById.TryGetValue(id, out var rank) ? rank : throw new InvalidDataException($"{Path}: an entry names commit id {id}, which is not in the commits table");

    private Checksum CommitOf(long id) => _commits[RankOf(id)].Checksum;

    private Session Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryDequeue(out var session))
        {
            Interlocked.Decrement(ref _idleCount);
            return session;
        }

        try
        {
            return OpenSession(Path, _connectionString);
        }
        catch (SqliteException e)
        {
            throw new IOException($"{Path}: cannot open the object map: {e.Message}", e);
        }
    }

    private void Return(Session session)
    {
        if (_disposed || Interlocked.Increment(ref _idleCount) > MaxIdleSessions)
        {
            if (!_disposed)
            {
                Interlocked.Decrement(ref _idleCount);
            }

            session.Dispose();
            return;
        }

        _idle.Enqueue(session);
        if (_disposed)
        {
            // Disposed while this query ran: the drain may have missed the session just queued.
            CloseIdle();
        }
    }

    private void CloseIdle()
    {
        while (_idle.TryDequeue(out var session))
        {
            Interlocked.Decrement(ref _idleCount);
            session.Dispose();
        }
    }

    /// <summary>A query failing on a map that opened fine means a damaged file.</summary>
    private InvalidDataException QueryFailed(SqliteException e) => new($"{Path}: object map query failed: {e.Message}", e);

    private static Session OpenSession(string path, string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = $"PRAGMA mmap_size = {MmapSize}";
                pragma.ExecuteNonQuery();
            }

            return new Session(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Percent-encodes a file path for an SQLite <c>file:</c> URI (<c>?</c>, <c>#</c>, <c>%</c> and the rest).</summary>
    private static string EscapeUriPath(string path)
    {
        var result = new StringBuilder(path.Length);
        foreach (var b in Encoding.UTF8.GetBytes(path))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'/' or (byte)'.' or (byte)'-' or (byte)'_' or (byte)'~')
            {
                result.Append((char)b);
            }
            else
            {
                result.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return result.ToString();
    }

    /// <summary>One read-only connection and its prepared statements, parameters in the order named; used by one thread at a time.</summary>
    private sealed class Session : IDisposable
    {
        public Session(SqliteConnection connection)
        {
            Connection = connection;
            Entry = Prepare(ObjectMapSchema.SelectEntry, "$commit_id", "$parent", "$name");
            Children = Prepare(ObjectMapSchema.SelectChildren, "$commit_id", "$parent");
            Paths = Prepare(ObjectMapSchema.SelectPathsByChecksum, "$checksum");
        }

        public SqliteConnection Connection { get; }

        /// <summary>One entry by commit id, parent, name.</summary>
        public SqliteCommand Entry { get; }

        /// <summary>A directory's entries by commit id, parent key.</summary>
        public SqliteCommand Children { get; }

        /// <summary>(commit id, path) pairs by checksum.</summary>
        public SqliteCommand Paths { get; }

        public void Dispose()
        {
            Entry.Dispose();
            Children.Dispose();
            Paths.Dispose();
            Connection.Dispose();
        }

        private SqliteCommand Prepare(string sql, params ReadOnlySpan<string> names)
        {
            var command = Connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in names)
            {
                command.Parameters.Add(new SqliteParameter(name, null));
            }

            command.Prepare();
            return command;
        }
    }
}
