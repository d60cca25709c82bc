using Microsoft.Data.Sqlite;
using SQLitePCL;
using Twin.Persistence.Codec;
using Twin.Persistence.Sql;

namespace Twin.Persistence.Sqlite;

/// <summary>
/// The embedded default journal: one SQLite file in WAL mode holding Akka.Persistence.Sql's
/// tables (<c>journal</c>, <c>snapshot</c>), which the plugin creates and writes, beside Twin's
/// (<see cref="SqliteSchema"/>), written through the catalog both SQL journals share
/// (<see cref="RunCatalog"/>). A run's writer hands events to the plugin in groups from a
/// thread of its own (<see cref="SqlPluginWriter"/>); replay reads the plugin's table directly on
/// the raw handle (<see cref="SqliteCursor"/>), measured faster than Akka.Persistence.Query for a
/// whole run. A process killed at any moment leaves every committed transaction intact (WAL)
/// and no half-written row.
/// </summary>
public sealed class SqliteJournal : IJournal
{
    private static readonly object s_initGate = new();
    private static bool s_initialized;

    private readonly SqlBackend _backend;
    private readonly SqlPluginStarter _plugin;
    private readonly RunCatalog _catalog;

    private SqliteJournal(string path)
    {
        Path = path;
        _backend = SqlBackend.Sqlite(Uri, path);
        _plugin = new SqlPluginStarter(_backend);
        _catalog = new RunCatalog(_backend);
    }

    public string Path { get; }

    /// <summary>Extra PRAGMAs for writer connections (Twin's and the plugin's); tests use it to cap the file size and see a real SQLITE_FULL.</summary>
    internal string? WriterPragmas
    {
        get => _backend.Pragmas!.Extra;
        set => _backend.Pragmas!.Extra = value;
    }

    public string Uri => $"sqlite:{Path}";

    /// <summary>Opens a journal, creating the file (and its directory) when <paramref name="create"/> is set.</summary>
    /// <exception cref="JournalFormatException">the file exists but is not a Twin journal of a readable version.</exception>
    /// <exception cref="JournalStorageException">the file is missing (read) or cannot be created.</exception>
    public static SqliteJournal Open(string path, bool create)
    {
        EnsureInitialized();
        bool exists = File.Exists(path);
        if (!exists && !create) throw new JournalStorageException($"journal file '{path}' does not exist");
        if (exists && new FileInfo(path).Length > 0 && !LooksLikeSqlite(path))
        {
            throw new JournalFormatException($"'{path}' is not a Twin journal: not an SQLite database");
        }
        if (!exists)
        {
            string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            try
            {
                if (dir is not null) Directory.CreateDirectory(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new JournalStorageException($"cannot create the directory of journal '{path}': {e.Message}", e);
            }
        }
        var journal = new SqliteJournal(path);
        using (SqliteConnection connection = OpenConnection(path, create))
        {
            journal.InitializeOrValidate(connection, exists && new FileInfo(path).Length > 0, create);
            // The plugin creates its tables; a journal about to be written gets them now, so
            // that every reader of the file finds them.
            if (create && !HasTable(connection, "journal"))
            {
                journal._plugin.StartCreatingTables();
                Execute(connection, SqlPluginHocon.DropUnusedIndexes, $"{journal.Uri}: dropping the journal's unused indexes");
            }
            else if (create)
            {
                journal._plugin.Begin();
            }
        }
        return journal;
    }

    public IJournalWriter StartRun(RunStart start) => NewWriter(_catalog.Start(start), resumed: false);

    public IJournalWriter TakeOverRun(RunInfo run, string writerUuid) => NewWriter(_catalog.TakeOver(run, writerUuid), resumed: true);

    IJournalWriter IJournal.OpenUnclaimedWriter(RunInfo run) => NewWriter(run, resumed: true);

    private SqlPluginWriter NewWriter(RunInfo run, bool resumed)
    {
        _plugin.Begin();
        return new SqlPluginWriter(_plugin, _catalog, run, resumed);
    }

    /// <summary>The first persistence id after every id of the run: ';' sorts right after ':'.</summary>
    private static string PrefixEnd(RunInfo run) => $"{run.RunNo};";

    public void RegisterManifests(IEnumerable<EventManifest> manifests) => _catalog.RegisterManifests(manifests);

    public RunInfo? FindRun(string runId) => _catalog.FindRun(runId);

    public IReadOnlyList<RunInfo> ListRuns() => _catalog.ListRuns();

    public long ReadHighestSequenceNr(string persistenceId) => _catalog.HighestSequenceNr(persistenceId);

    public IJournalCursor ReadMessages(string persistenceId, long fromSequenceNr, long toSequenceNr, long max)
    {
        SqliteConnection c = OpenConnection(Path, create: false);
        return new SqliteCursor(c, Path, $"""
            SELECT {SqliteSchema.RowColumns} FROM journal
            WHERE persistence_id = ?1 AND sequence_number >= ?2 AND sequence_number <= ?3 AND deleted = 0
            ORDER BY sequence_number LIMIT ?4
            """, stmt =>
        {
            raw.sqlite3_bind_text(stmt, 1, persistenceId);
            raw.sqlite3_bind_int64(stmt, 2, fromSequenceNr);
            raw.sqlite3_bind_int64(stmt, 3, toSequenceNr);
            raw.sqlite3_bind_int64(stmt, 4, max);
        });
    }

    public IJournalCursor ReadRun(RunInfo run)
    {
        // Scan by ordering from the run's first row and filter on the id prefix; the unary plus
        // keeps SQLite from choosing the (persistence_id, sequence_number) index, which would
        // need a sort of the whole run to restore global order.
        long first = _catalog.FirstOrdering(run);
        string lo = run.PersistenceIdPrefix;
        string hi = PrefixEnd(run);
        SqliteConnection c = OpenConnection(Path, create: false);
        // Read ahead on a thread of its own: a whole-run replay applies rows while the next are read.
        return new PrefetchingCursor(new SqliteCursor(c, Path, $"""
            SELECT {SqliteSchema.RowColumns} FROM journal
            WHERE ordering >= ?1 AND +persistence_id >= ?2 AND +persistence_id < ?3 AND deleted = 0
            ORDER BY ordering
            """, stmt =>
        {
            raw.sqlite3_bind_int64(stmt, 1, first);
            raw.sqlite3_bind_text(stmt, 2, lo);
            raw.sqlite3_bind_text(stmt, 3, hi);
        }));
    }

    public void DeleteRun(RunInfo run) => _catalog.DeleteRun(run);

    public Campaigns.ICampaignStore OpenCampaigns() =>
        new Campaigns.SqlCampaignStore(Uri, () => OpenConnection(Path, create: false), Campaigns.SqlDialect.Sqlite);

    public IReadOnlyList<Checkpoint> ReadCheckpoints(RunInfo run) => _catalog.ReadCheckpoints(run);

    /// <summary>
    /// Stops the plugin and closes the pooled connections of this file (the run catalog's, through
    /// linq2db), so that a disposed journal no longer holds the file open: a process that goes on
    /// (a test, a tool) can move, delete or unmount it.
    /// </summary>
    public void Dispose()
    {
        _plugin.Dispose();
        using var pooled = new SqliteConnection(_backend.ConnectionString);
        SqliteConnection.ClearPool(pooled);
    }

    internal static SqliteConnection OpenConnection(string path, bool create)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = create ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite,
            Pooling = false,
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            using SqliteCommand pragma = connection.CreateCommand();
            // WAL: readers never block the writer; synchronous=NORMAL: a transaction is durable
            // against a process crash once committed (a power loss may drop the last ones).
            pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;";
            pragma.ExecuteNonQuery();
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw Translate(e, $"opening '{path}'", path);
        }
        return connection;
    }

    internal static JournalException Translate(SqliteException e, string doing, string? path = null)
    {
        string where = path is null ? doing : $"{doing}";
        return e.SqliteErrorCode switch
        {
            raw.SQLITE_NOTADB => new JournalFormatException($"{where}: not an SQLite database", e),
            raw.SQLITE_CORRUPT => new JournalCorruptException($"{where}: the database file is corrupt ({e.Message})", e),
            raw.SQLITE_FULL => new JournalStorageException($"{where}: the disk is full", e),
            raw.SQLITE_READONLY or raw.SQLITE_CANTOPEN or raw.SQLITE_PERM or raw.SQLITE_IOERR
                => new JournalStorageException($"{where}: cannot write the journal file ({SqliteMessage(e)})", e),
            raw.SQLITE_CONSTRAINT => new JournalConflictException($"{where}: {SqliteMessage(e)}", e),
            raw.SQLITE_BUSY or raw.SQLITE_LOCKED => new JournalUnavailableException($"{where}: the journal file stayed locked by another process ({SqliteMessage(e)})", e),
            _ => new JournalStorageException($"{where}: {SqliteMessage(e)}", e),
        };
    }

    private static string SqliteMessage(SqliteException e)
    {
        string m = e.Message;
        const string prefix = "SQLite Error ";
        if (m.StartsWith(prefix, StringComparison.Ordinal))
        {
            int colon = m.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0) m = m[(colon + 2)..];
        }
        return m.Trim().TrimEnd('.').Trim('\'');
    }

    private static void EnsureInitialized()
    {
        lock (s_initGate)
        {
            if (s_initialized) return;
            Batteries_V2.Init();
            s_initialized = true;
        }
    }

    private static bool LooksLikeSqlite(string path)
    {
        Span<byte> header = stackalloc byte[16];
        try
        {
            using FileStream f = File.OpenRead(path);
            int n = f.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            return n == 16 && header.SequenceEqual("SQLite format 3\0"u8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JournalStorageException($"cannot read journal file '{path}': {e.Message}", e);
        }
    }

    private void InitializeOrValidate(SqliteConnection connection, bool existed, bool create)
    {
        SqliteCommand Command(string sql)
        {
            SqliteCommand cmd = connection.CreateCommand();
            cmd.CommandText = sql;
            return cmd;
        }
        try
        {
            if (existed)
            {
                using SqliteCommand probe = Command("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'twin_meta'");
                bool hasMeta = (long)probe.ExecuteScalar()! == 1;
                if (!hasMeta)
                {
                    using SqliteCommand any = Command("SELECT COUNT(*) FROM sqlite_master");
                    if ((long)any.ExecuteScalar()! > 0)
                    {
                        throw new JournalFormatException($"'{Path}' is not a Twin journal: an SQLite database without a twin_meta table");
                    }
                }
                else
                {
                    using SqliteCommand meta = Command("SELECT key, value FROM twin_meta");
                    JournalMeta.Check(meta, SqliteSchema.Version, $"'{Path}'");
                    return;
                }
            }
            if (!create) throw new JournalFormatException($"'{Path}' is not a Twin journal: the database is empty");
            using SqliteTransaction tx = connection.BeginTransaction();
            using (SqliteCommand cmd = Command(SqliteSchema.Create)) { cmd.Transaction = tx; cmd.ExecuteNonQuery(); }
            using (SqliteCommand meta = Command("INSERT OR IGNORE INTO twin_meta(key, value) VALUES ('format', $f), ('version', $v)"))
            {
                meta.Transaction = tx;
                meta.Parameters.AddWithValue("$f", JournalMeta.Format);
                meta.Parameters.AddWithValue("$v", SqliteSchema.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
                meta.ExecuteNonQuery();
            }
            tx.Commit();
        }
        catch (SqliteException e)
        {
            throw Translate(e, $"opening journal '{Path}'");
        }
    }

    private static bool HasTable(SqliteConnection connection, string name)
    {
        using SqliteCommand cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $n";
        cmd.Parameters.AddWithValue("$n", name);
        return (long)cmd.ExecuteScalar()! == 1;
    }

    private static void Execute(SqliteConnection connection, string sql, string doing)
    {
        try
        {
            using SqliteCommand cmd = connection.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }
        catch (SqliteException e)
        {
            throw Translate(e, doing);
        }
    }
}
