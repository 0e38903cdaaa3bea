namespace OstreeContainer.ObjectMap;

/// <summary>
/// The object map's SQLite schema, declared once. Checksums are 32-byte BLOBs
/// (<c>lower(hex(checksum))</c> in the sqlite3 shell). An entry is keyed by
/// <c>(commit_id, parent, name)</c> where <c>parent</c> is the parent directory's path with
/// a trailing slash, so <c>path = parent || name</c> and a directory's children are one
/// contiguous key range; the root is <c>('', '/')</c>. See README.md for the reasons.
/// </summary>
internal static class ObjectMapSchema
{
    /// <summary>The version this code writes and reads; any other is refused.</summary>
    public const int Version = 1;

    /// <summary><c>meta</c> key holding <see cref="Version"/>.</summary>
    public const string VersionKey = "schema_version";

    /// <summary><c>meta</c> key naming the writer.</summary>
    public const string GeneratorKey = "generator";

    public const string TypeFile = "file";
    public const string TypeSymlink = "symlink";
    public const string TypeDirectory = "dir";

    /// <summary>Tables; created before the rows are inserted.</summary>
    public const string CreateTables = """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE commits (
            id           INTEGER PRIMARY KEY,
            checksum     BLOB NOT NULL UNIQUE,
            subject      TEXT NOT NULL,
            body         TEXT NOT NULL,
            timestamp    INTEGER NOT NULL,        -- seconds since the epoch, UTC
            version      TEXT,                    -- the 'version' metadata string
            parent       BLOB,
            root_dirtree BLOB NOT NULL,
            root_dirmeta BLOB NOT NULL,
            metadata     TEXT NOT NULL            -- the a{sv} metadata as a JSON object
        );

        CREATE TABLE commit_refs (
            ref       TEXT PRIMARY KEY NOT NULL,
            commit_id INTEGER NOT NULL REFERENCES commits (id)
        ) WITHOUT ROWID;

        CREATE TABLE entries (
            commit_id      INTEGER NOT NULL REFERENCES commits (id),
            parent         TEXT NOT NULL,         -- '/usr/' for '/usr/bin'; '' for the root
            name           TEXT NOT NULL,         -- 'bin'; '/' for the root
            type           TEXT NOT NULL CHECK (type IN ('file', 'symlink', 'dir')),
            checksum       BLOB NOT NULL,         -- content checksum; dirtree checksum for 'dir'
            dirmeta        BLOB,                  -- dirmeta checksum, 'dir' only
            mode           INTEGER NOT NULL,      -- full st_mode, type bits included
            uid            INTEGER NOT NULL,
            gid            INTEGER NOT NULL,
            size           INTEGER NOT NULL,      -- content length; 0 for symlinks and dirs
            symlink_target TEXT,
            xattrs         TEXT,                  -- JSON [{"name":…,"value":base64}], NULL when none
            PRIMARY KEY (commit_id, parent, name)
        ) WITHOUT ROWID;
        """;

    /// <summary>Secondary indexes; created after the rows so each is built in one sorted pass.</summary>
    public const string CreateIndexes = """
        CREATE INDEX entries_by_checksum ON entries (checksum);
        """;

    /// <summary>Writes the finished in-memory database to the file <c>$path</c> (which must not exist), every table and index in key order, pages full.</summary>
    public const string WriteCompactCopy = "VACUUM INTO $path";

    public const string InsertMeta = "INSERT INTO meta (key, value) VALUES ($key, $value)";

    public const string InsertCommit = """
        INSERT INTO commits (id, checksum, subject, body, timestamp, version, parent, root_dirtree, root_dirmeta, metadata)
        VALUES ($id, $checksum, $subject, $body, $timestamp, $version, $parent, $root_dirtree, $root_dirmeta, $metadata)
        """;

    public const string InsertRef = "INSERT INTO commit_refs (ref, commit_id) VALUES ($ref, $commit_id)";

    public const string InsertEntry = """
        INSERT INTO entries (commit_id, parent, name, type, checksum, dirmeta, mode, uid, gid, size, symlink_target, xattrs)
        VALUES ($commit_id, $parent, $name, $type, $checksum, $dirmeta, $mode, $uid, $gid, $size, $symlink_target, $xattrs)
        """;

    public const string SelectVersion = "SELECT value FROM meta WHERE key = 'schema_version'";

    public const string SelectCommits = """
        SELECT id, checksum, subject, body, timestamp, version, parent, root_dirtree, root_dirmeta, metadata
        FROM commits ORDER BY timestamp DESC, id DESC
        """;

    public const string SelectRefs = "SELECT ref, commit_id FROM commit_refs ORDER BY ref";

    /// <summary>Column list shared by the entry queries; <see cref="ObjectMapReader"/> reads them by position.</summary>
    private const string EntryColumns = "type, checksum, dirmeta, mode, uid, gid, size, symlink_target, xattrs";

    public const string SelectEntry = $"SELECT {EntryColumns} FROM entries WHERE commit_id = $commit_id AND parent = $parent AND name = $name";

    public const string SelectChildren = $"SELECT {EntryColumns}, name FROM entries WHERE commit_id = $commit_id AND parent = $parent ORDER BY name";

    public const string SelectPathsByChecksum = "SELECT commit_id, parent || name FROM entries WHERE checksum = $checksum";

    public const string SelectAdded = """
        SELECT b.parent || b.name FROM entries AS b
        WHERE b.commit_id = $to AND NOT EXISTS (
            SELECT 1 FROM entries AS a WHERE a.commit_id = $from AND a.parent = b.parent AND a.name = b.name)
        """;

    public const string SelectRemoved = """
        SELECT a.parent || a.name FROM entries AS a
        WHERE a.commit_id = $from AND NOT EXISTS (
            SELECT 1 FROM entries AS b WHERE b.commit_id = $to AND b.parent = a.parent AND b.name = a.name)
        """;

    // A directory's dirtree checksum changes whenever anything below it changes; only its
    // dirmeta (owner, mode, xattrs) makes the directory itself "changed", as in ostree diff.
    public const string SelectChanged = """
        SELECT a.parent || a.name FROM entries AS a
        JOIN entries AS b ON b.commit_id = $to AND b.parent = a.parent AND b.name = a.name
        WHERE a.commit_id = $from
          AND (a.type <> b.type
               OR (a.type = 'dir' AND a.dirmeta IS NOT b.dirmeta)
               OR (a.type <> 'dir' AND a.checksum <> b.checksum))
        """;
}
