using Microsoft.Data.Sqlite;
using SQLitePCL;
using Twin.Persistence.Codec;
using Twin.Persistence.Sql;

namespace Twin.Persistence.Sqlite;

/// <summary>
/// The embedded default journal: one SQLite file in WAL mode holding Akka.Persistence.Sql's
/// tables (<c>journal</c>, <c>snapshot</c>), which the plugin creates and writes, beside Twin's
/// (<see cref="SqliteSchema"/>). A run's writer hands events to the plugin in groups from a
/// thread of its own (<see cref="SqlPluginWriter"/>); replay reads the plugin's table directly on
/// the raw handle (<see cref="SqliteCursor"/>), measured faster than Akka.Persistence.Query for a
/// whole run. A process killed at any moment leaves every committed transaction intact (WAL)
/// and no half-written row.
/// </summary>
public sealed class SqliteJournal : IJournal
{
    private static readonly object s_initGate = new();
    private static bool s_initialized;

    private readonly SqliteConnection _connection;
    private readonly object _gate = new();
    private readonly SqlBackend _backend;
    private readonly SqlPluginStarter _plugin;

    private SqliteJournal(string path, SqliteConnection connection)
    {
        Path = path;
        _connection = connection;
        _backend = SqlBackend.Sqlite(Uri, path);
        _plugin = new SqlPluginStarter(_backend);
    }

    public string Path { get; }

    /// <summary>Extra PRAGMAs for writer connections (Twin's and the plugin's); tests use it to cap the file size and see a real SQLITE_FULL.</summary>
    internal string? WriterPragmas
    {
        get => _backend.Pragmas!.Extra;
        set => _backend.Pragmas!.Extra = value;
    }

    /// <summary>The plugin, started on first need: a journal only read never starts it.</summary>
    private SqlPluginStorage Storage => _plugin.Get();

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
        SqliteConnection connection = OpenConnection(path, create);
        var journal = new SqliteJournal(path, connection);
        try
        {
            journal.InitializeOrValidate(exists && new FileInfo(path).Length > 0, create);
            // The plugin creates its tables; a journal about to be written gets them now, so
            // that every reader of the file finds them.
            if (create && !journal.HasTable("journal"))
            {
                journal._plugin.StartCreatingTables();
                journal.DropUnusedIndexes();
            }
            else if (create)
            {
                journal._plugin.Begin();
            }
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        return journal;
    }

    public IJournalWriter StartRun(RunStart start)
    {
        lock (_gate)
        {
            try
            {
                using SqliteTransaction tx = _connection.BeginTransaction();
                RunInfo? existing = FindRunLocked(start.RunId);
                if (existing is not null)
                {
                    throw new JournalConflictException(
                        $"run '{start.RunId}' already exists in {Uri} (writer {existing.WriterUuid}, status {existing.Status.ToString().ToLowerInvariant()}); a second writer is refused");
                }
                using SqliteCommand cmd = Command("""
                    INSERT INTO runs(run_id, seed, config, code_version, status, writer_uuid, started_unix_ms)
                    VALUES ($id, $seed, $config, $code, 'running', $writer, $started) RETURNING run_no
                    """);
                cmd.Parameters.AddWithValue("$id", start.RunId);
                cmd.Parameters.AddWithValue("$seed", unchecked((long)start.Seed));
                cmd.Parameters.AddWithValue("$config", start.ConfigJson);
                cmd.Parameters.AddWithValue("$code", start.CodeVersion);
                cmd.Parameters.AddWithValue("$writer", start.WriterUuid);
                cmd.Parameters.AddWithValue("$started", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                cmd.Transaction = tx;
                long runNo = (long)cmd.ExecuteScalar()!;
                tx.Commit();
                RunInfo run = FindRunLocked(start.RunId)!;
                return NewWriter(run, resumed: false);
            }
            catch (SqliteException e)
            {
                throw Translate(e, $"starting run '{start.RunId}'");
            }
        }
    }

    public IJournalWriter TakeOverRun(RunInfo run, string writerUuid)
    {
        lock (_gate)
        {
            int taken = Guard(() =>
            {
                using SqliteCommand cmd = Command("UPDATE runs SET writer_uuid = $new WHERE run_no = $r AND status = 'running' AND writer_uuid = $old");
                cmd.Parameters.AddWithValue("$new", writerUuid);
                cmd.Parameters.AddWithValue("$r", run.RunNo);
                cmd.Parameters.AddWithValue("$old", run.WriterUuid);
                return cmd.ExecuteNonQuery();
            }, $"taking over run '{run.RunId}'");
            if (taken != 1) throw TakeOverRefused(run, FindRunLocked(run.RunId));
            return NewWriter(FindRunLocked(run.RunId)!, resumed: true);
        }
    }

    internal static JournalConflictException TakeOverRefused(RunInfo run, RunInfo? now) => new(now is null
        ? $"run '{run.RunId}' no longer exists"
        : now.Status != RunStatus.Running
            ? $"run '{run.RunId}' is {RunStatusText.Of(now.Status)}: there is nothing to resume"
            : $"run '{run.RunId}' was taken over by writer {now.WriterUuid} meanwhile; a second writer is refused");

    IJournalWriter IJournal.OpenUnclaimedWriter(RunInfo run) => NewWriter(run, resumed: true);

    private SqlPluginWriter NewWriter(RunInfo run, bool resumed)
    {
        _plugin.Begin();
        return new SqlPluginWriter(_plugin, new SqliteRunTables(this, run, OpenWriterConnection(), resumed), run);
    }

    /// <summary>The first persistence id after every id of the run: ';' sorts right after ':'.</summary>
    internal static string PrefixEnd(RunInfo run) => $"{run.RunNo};";

    private SqliteConnection OpenWriterConnection()
    {
        SqliteConnection c = OpenConnection(Path, create: false);
        if (WriterPragmas is not null)
        {
            using SqliteCommand cmd = c.CreateCommand();
            cmd.CommandText = WriterPragmas;
            cmd.ExecuteNonQuery();
        }
        return c;
    }

    /// <summary>Records the event types a writer uses, so the file explains its own manifest numbers.</summary>
    public void RegisterManifests(IEnumerable<EventManifest> manifests)
    {
        lock (_gate)
        {
            using SqliteTransaction tx = _connection.BeginTransaction();
            foreach (EventManifest m in manifests)
            {
                using SqliteCommand cmd = Command("INSERT OR REPLACE INTO manifests(manifest, name, version) VALUES ($m, $n, $v)");
                cmd.Transaction = tx;
                cmd.Parameters.AddWithValue("$m", m.Column);
                cmd.Parameters.AddWithValue("$n", m.Name);
                cmd.Parameters.AddWithValue("$v", m.Version);
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    public RunInfo? FindRun(string runId)
    {
        lock (_gate) return Guard(() => FindRunLocked(runId), "reading the runs table");
    }

    public IReadOnlyList<RunInfo> ListRuns()
    {
        lock (_gate)
        {
            return Guard(() =>
            {
                using SqliteCommand cmd = Command(RunSelect + " ORDER BY run_no");
                return ReadRuns(cmd);
            }, "reading the runs table");
        }
    }

    public long ReadHighestSequenceNr(string persistenceId)
    {
        lock (_gate)
        {
            return Guard(() =>
            {
                using SqliteCommand cmd = Command("SELECT COALESCE(MAX(sequence_number), 0) FROM journal WHERE persistence_id = $pid");
                cmd.Parameters.AddWithValue("$pid", persistenceId);
                return (long)cmd.ExecuteScalar()!;
            }, $"reading the highest sequence number of {persistenceId}");
        }
    }

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
        long first;
        lock (_gate)
        {
            first = Guard(() =>
            {
                using SqliteCommand cmd = Command("SELECT COALESCE(first_ordering, 0) FROM runs WHERE run_no = $r");
                cmd.Parameters.AddWithValue("$r", run.RunNo);
                return cmd.ExecuteScalar() is long v ? v : 0L;
            }, "reading the runs table");
        }
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

    public void DeleteMessagesTo(string persistenceId, long toSequenceNr) => Storage.DeleteMessagesTo(persistenceId, toSequenceNr);

    public void DeleteRun(RunInfo run)
    {
        lock (_gate)
        {
            Guard(() =>
            {
                using SqliteTransaction tx = _connection.BeginTransaction();
                string lo = run.PersistenceIdPrefix, hi = PrefixEnd(run);
                // The plugin deletes only up to a sequence number and keeps the highest row; a run
                // written again from its seed needs its rows gone, so this is plain SQL on its tables.
                foreach (string sql in (string[])[
                    "DELETE FROM journal WHERE ordering >= COALESCE((SELECT first_ordering FROM runs WHERE run_no = $r), 0) AND +persistence_id >= $lo AND +persistence_id < $hi",
                    "DELETE FROM snapshot WHERE persistence_id >= $lo AND persistence_id < $hi",
                    "DELETE FROM checkpoints WHERE run_no = $r",
                    "DELETE FROM runs WHERE run_no = $r"])
                {
                    using SqliteCommand cmd = Command(sql);
                    cmd.Transaction = tx;
                    cmd.Parameters.AddWithValue("$r", run.RunNo);
                    cmd.Parameters.AddWithValue("$lo", lo);
                    cmd.Parameters.AddWithValue("$hi", hi);
                    cmd.ExecuteNonQuery();
                }
                tx.Commit();
                return 0;
            }, $"deleting run '{run.RunId}'");
        }
    }

    public Campaigns.ICampaignStore OpenCampaigns() =>
        new Campaigns.SqlCampaignStore(Uri, () => OpenConnection(Path, create: false), Campaigns.SqlDialect.Sqlite);

    public void SaveSnapshot(SnapshotRecord snapshot) => Storage.SaveSnapshot(snapshot);

    public SnapshotRecord? LoadSnapshot(string persistenceId, long maxSequenceNr) => Storage.LoadSnapshot(persistenceId, maxSequenceNr);

    public IReadOnlyList<Checkpoint> ReadCheckpoints(RunInfo run)
    {
        lock (_gate)
        {
            return Guard(() =>
            {
                using SqliteCommand cmd = Command("SELECT event_count, timestamp, state_hash FROM checkpoints WHERE run_no = $r ORDER BY event_count");
                cmd.Parameters.AddWithValue("$r", run.RunNo);
                using SqliteDataReader r = cmd.ExecuteReader();
                var list = new List<Checkpoint>();
                while (r.Read()) list.Add(new Checkpoint(r.GetInt64(0), r.GetInt64(1), unchecked((ulong)r.GetInt64(2))));
                return list;
            }, "reading checkpoints");
        }
    }

    public void Dispose()
    {
        _plugin.Dispose();
        _connection.Dispose();
    }

    internal void MarkRunFinished(RunInfo run, RunStatus status, string summaryJson)
    {
        lock (_gate)
        {
            Guard(() =>
            {
                using SqliteCommand cmd = Command("UPDATE runs SET status = $s, summary = $sum, finished_unix_ms = $t WHERE run_no = $r");
                cmd.Parameters.AddWithValue("$s", RunStatusText.Of(status));
                cmd.Parameters.AddWithValue("$sum", summaryJson);
                cmd.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                cmd.Parameters.AddWithValue("$r", run.RunNo);
                return cmd.ExecuteNonQuery();
            }, $"finishing run '{run.RunId}'");
        }
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

    private const string RunSelect = RunRows.Select;

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

    private void InitializeOrValidate(bool existed, bool create)
    {
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
                    ValidateMeta();
                    return;
                }
            }
            if (!create) throw new JournalFormatException($"'{Path}' is not a Twin journal: the database is empty");
            using SqliteTransaction tx = _connection.BeginTransaction();
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

    /// <summary>See <see cref="SqlPluginHocon.DropUnusedIndexes"/>.</summary>
    private void DropUnusedIndexes()
    {
        lock (_gate)
        {
            Guard(() =>
            {
                using SqliteCommand cmd = Command(SqlPluginHocon.DropUnusedIndexes);
                return cmd.ExecuteNonQuery();
            }, "dropping the journal's unused indexes");
        }
    }

    private bool HasTable(string name)
    {
        lock (_gate)
        {
            return Guard(() =>
            {
                using SqliteCommand cmd = Command("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $n");
                cmd.Parameters.AddWithValue("$n", name);
                return (long)cmd.ExecuteScalar()! == 1;
            }, $"looking for the {name} table");
        }
    }

    private void ValidateMeta()
    {
        using SqliteCommand cmd = Command("SELECT key, value FROM twin_meta");
        JournalMeta.Check(cmd, SqliteSchema.Version, $"'{Path}'");
    }

    private RunInfo? FindRunLocked(string runId)
    {
        using SqliteCommand cmd = Command(RunSelect + " WHERE run_id = $id");
        cmd.Parameters.AddWithValue("$id", runId);
        IReadOnlyList<RunInfo> runs = ReadRuns(cmd);
        return runs.Count == 0 ? null : runs[0];
    }

    private IReadOnlyList<RunInfo> ReadRuns(SqliteCommand cmd) => RunRows.ReadAll(cmd, Uri);

    private SqliteCommand Command(string sql)
    {
        SqliteCommand cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        return cmd;
    }

    private T Guard<T>(Func<T> action, string doing)
    {
        try
        {
            return action();
        }
        catch (SqliteException e)
        {
            throw Translate(e, $"{Uri}: {doing}");
        }
    }
}
