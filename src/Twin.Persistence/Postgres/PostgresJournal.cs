using Npgsql;
using Twin.Persistence.Codec;
using Twin.Persistence.Sql;

namespace Twin.Persistence.Postgres;

/// <summary>
/// The journal on a PostgreSQL server (<c>postgres:CONNECTION-STRING</c>, Npgsql's keyword form,
/// e.g. <c>postgres:Host=db;Port=5432;Database=twin;Username=twin</c>; <c>Search Path=NAME</c> keeps
/// a journal in its own schema). Events and snapshots are Akka.Persistence.Sql's, written through
/// the plugin (<see cref="SqlPluginWriter"/>); Twin's own tables sit beside them. Several
/// processes on several machines may write to one journal, one writer per run.
/// </summary>
public sealed class PostgresJournal : IJournal
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly SqlBackend _backend;
    private readonly SqlPluginStarter _plugin;

    private PostgresJournal(NpgsqlDataSource dataSource, string uri, string connectionString)
    {
        _dataSource = dataSource;
        Uri = uri;
        _backend = SqlBackend.Postgres(uri, connectionString);
        _plugin = new SqlPluginStarter(_backend);
    }

    /// <summary>The plugin, started on first need: a journal only read never starts it.</summary>
    private SqlPluginStorage Storage => _plugin.Get();

    public string Uri { get; }

    internal NpgsqlDataSource DataSource => _dataSource;

    /// <summary>Connects, then creates the tables (create) or checks they are a Twin journal of this version.</summary>
    /// <exception cref="JournalFormatException">a malformed connection string, or a database holding something else.</exception>
    /// <exception cref="JournalStorageException">the server cannot be reached or refuses the login.</exception>
    public static PostgresJournal Open(string connectionString, bool create)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new JournalFormatException($"journal URI 'postgres:{connectionString}': not an Npgsql connection string ({e.Message})", e);
        }
        if (string.IsNullOrEmpty(builder.Host))
        {
            throw new JournalFormatException($"journal URI 'postgres:{connectionString}' names no Host; use postgres:Host=...;Database=...");
        }
        // The URI in messages is what the person wrote, less the password.
        string uri = "postgres:" + Redacted(builder);
        builder.Timeout = builder.Timeout == 15 ? 10 : builder.Timeout;
        // The server's detail names the conflicting key ("(1:cpu-0, 4) already exists"); it is
        // the journal's own data, and a conflict message without it cannot say where.
        builder.IncludeErrorDetail = true;
        var journal = new PostgresJournal(NpgsqlDataSource.Create(builder), uri, builder.ConnectionString);
        try
        {
            journal.InitializeOrValidate(create);
            if (create)
            {
                journal.EnsurePluginTables();
                journal._plugin.Begin();
            }
        }
        catch
        {
            journal.Dispose();
            throw;
        }
        return journal;
    }

    public IJournalWriter StartRun(RunStart start) => Do($"starting run '{start.RunId}'", c =>
    {
        using NpgsqlCommand cmd = new("""
            INSERT INTO runs(run_id, seed, config, code_version, status, writer_uuid, started_unix_ms)
            VALUES ($1, $2, $3, $4, 'running', $5, $6) ON CONFLICT (run_id) DO NOTHING RETURNING run_no
            """, c);
        cmd.Parameters.AddWithValue(start.RunId);
        cmd.Parameters.AddWithValue(unchecked((long)start.Seed));
        cmd.Parameters.AddWithValue(start.ConfigJson);
        cmd.Parameters.AddWithValue(start.CodeVersion);
        cmd.Parameters.AddWithValue(start.WriterUuid);
        cmd.Parameters.AddWithValue(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        if (cmd.ExecuteScalar() is null)
        {
            RunInfo existing = FindRunOn(c, start.RunId)!;
            throw new JournalConflictException(
                $"run '{start.RunId}' already exists in {Uri} (writer {existing.WriterUuid}, status {RunStatusText.Of(existing.Status)}); a second writer is refused");
        }
        return (IJournalWriter)NewWriter(FindRunOn(c, start.RunId)!, resumed: false);
    });

    IJournalWriter IJournal.OpenUnclaimedWriter(RunInfo run) => NewWriter(run, resumed: true);

    private SqlPluginWriter NewWriter(RunInfo run, bool resumed)
    {
        _plugin.Begin();
        return new(_plugin, new PostgresRunTables(this, run, resumed), run);
    }

    public IJournalWriter TakeOverRun(RunInfo run, string writerUuid) => Do($"taking over run '{run.RunId}'", c =>
    {
        using NpgsqlCommand cmd = new("UPDATE runs SET writer_uuid = $1 WHERE run_no = $2 AND status = 'running' AND writer_uuid = $3", c);
        cmd.Parameters.AddWithValue(writerUuid);
        cmd.Parameters.AddWithValue(run.RunNo);
        cmd.Parameters.AddWithValue(run.WriterUuid);
        if (cmd.ExecuteNonQuery() != 1) throw Sqlite.SqliteJournal.TakeOverRefused(run, FindRunOn(c, run.RunId));
        return (IJournalWriter)NewWriter(FindRunOn(c, run.RunId)!, resumed: true);
    });

    public RunInfo? FindRun(string runId) => Do("reading the runs table", c => FindRunOn(c, runId));

    public IReadOnlyList<RunInfo> ListRuns() => Do("reading the runs table", c =>
    {
        using NpgsqlCommand cmd = new(RunSelect + " ORDER BY run_no", c);
        return ReadRuns(cmd);
    });

    public long ReadHighestSequenceNr(string persistenceId) => Do($"reading the highest sequence number of {persistenceId}", c =>
    {
        using NpgsqlCommand cmd = new("SELECT COALESCE(MAX(sequence_number), 0) FROM journal WHERE persistence_id = $1", c);
        cmd.Parameters.AddWithValue(persistenceId);
        return (long)cmd.ExecuteScalar()!;
    });

    public IJournalCursor ReadMessages(string persistenceId, long fromSequenceNr, long toSequenceNr, long max) =>
        new PostgresCursor(this, $"reading {persistenceId}", $"""
            SELECT {PostgresSchema.RowColumns} FROM journal
            WHERE persistence_id = $1 AND sequence_number >= $2 AND sequence_number <= $3 AND NOT deleted
            ORDER BY sequence_number LIMIT $4
            """, persistenceId, fromSequenceNr, toSequenceNr, max);

    /// <summary>From the run's first row on, by ordering; other runs' rows written meanwhile are skipped by id prefix.</summary>
    public IJournalCursor ReadRun(RunInfo run) =>
        new PrefetchingCursor(new PostgresCursor(this, $"reading run '{run.RunId}'", $"""
            SELECT {PostgresSchema.RowColumns} FROM journal
            WHERE ordering >= COALESCE((SELECT first_ordering FROM runs WHERE run_no = $1), 0)
              AND starts_with(persistence_id, $2) AND NOT deleted
            ORDER BY ordering
            """, run.RunNo, run.PersistenceIdPrefix));

    public void DeleteMessagesTo(string persistenceId, long toSequenceNr) => Storage.DeleteMessagesTo(persistenceId, toSequenceNr);

    public void DeleteRun(RunInfo run) => Do($"deleting run '{run.RunId}'", c =>
    {
        using NpgsqlTransaction tx = c.BeginTransaction();
        foreach (string sql in (string[])[
            // Plain SQL on the plugin's tables: its delete keeps each id's highest row.
            "DELETE FROM journal WHERE ordering >= COALESCE((SELECT first_ordering FROM runs WHERE run_no = $1), 0) AND starts_with(persistence_id, $2)",
            "DELETE FROM snapshot WHERE starts_with(persistence_id, $2)",
            "DELETE FROM checkpoints WHERE run_no = $1",
            "DELETE FROM runs WHERE run_no = $1"])
        {
            using NpgsqlCommand cmd = new(sql, c, tx);
            cmd.Parameters.AddWithValue(run.RunNo);
            cmd.Parameters.AddWithValue(run.PersistenceIdPrefix);
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
        return 0;
    });

    public Campaigns.ICampaignStore OpenCampaigns() =>
        new Campaigns.SqlCampaignStore(Uri, () => _dataSource.OpenConnection(), Campaigns.SqlDialect.Postgres);

    public void SaveSnapshot(SnapshotRecord snapshot) => Storage.SaveSnapshot(snapshot);

    public SnapshotRecord? LoadSnapshot(string persistenceId, long maxSequenceNr) => Storage.LoadSnapshot(persistenceId, maxSequenceNr);

    public IReadOnlyList<Checkpoint> ReadCheckpoints(RunInfo run) => Do("reading checkpoints", c =>
    {
        using NpgsqlCommand cmd = new("SELECT event_count, timestamp, state_hash FROM checkpoints WHERE run_no = $1 ORDER BY event_count", c);
        cmd.Parameters.AddWithValue(run.RunNo);
        using NpgsqlDataReader r = cmd.ExecuteReader();
        var list = new List<Checkpoint>();
        while (r.Read()) list.Add(new Checkpoint(r.GetInt64(0), r.GetInt64(1), unchecked((ulong)r.GetInt64(2))));
        return (IReadOnlyList<Checkpoint>)list;
    });

    public void RegisterManifests(IEnumerable<EventManifest> manifests) => Do("recording event manifests", c =>
    {
        using NpgsqlBatch batch = new(c);
        foreach (EventManifest m in manifests)
        {
            var cmd = new NpgsqlBatchCommand("""
                INSERT INTO manifests(manifest, name, version) VALUES ($1, $2, $3)
                ON CONFLICT (manifest) DO UPDATE SET name = EXCLUDED.name, version = EXCLUDED.version
                """);
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = m.Column });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = m.Name });
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = m.Version });
            batch.BatchCommands.Add(cmd);
        }
        return batch.BatchCommands.Count == 0 ? 0 : batch.ExecuteNonQuery();
    });

    public void Dispose()
    {
        _plugin.Dispose();
        _dataSource.Dispose();
    }

    internal void MarkRunFinished(RunInfo run, RunStatus status, string summaryJson) => Do($"finishing run '{run.RunId}'", c =>
    {
        using NpgsqlCommand cmd = new("UPDATE runs SET status = $1, summary = $2, finished_unix_ms = $3 WHERE run_no = $4", c);
        cmd.Parameters.AddWithValue(RunStatusText.Of(status));
        cmd.Parameters.AddWithValue(summaryJson);
        cmd.Parameters.AddWithValue(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue(run.RunNo);
        return cmd.ExecuteNonQuery();
    });

    /// <summary>Runs <paramref name="action"/> on a pooled connection; every failure becomes a <see cref="JournalException"/> naming what was being done.</summary>
    internal T Do<T>(string doing, Func<NpgsqlConnection, T> action)
    {
        try
        {
            using NpgsqlConnection c = _dataSource.OpenConnection();
            return action(c);
        }
        catch (Exception e) when (e is not JournalException)
        {
            throw PostgresErrors.Translate(e, $"{Uri}: {doing}");
        }
    }

    private const string RunSelect = RunRows.Select;

    private static string Redacted(NpgsqlConnectionStringBuilder builder)
    {
        var shown = new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Password = null };
        return shown.ConnectionString;
    }

    private void InitializeOrValidate(bool create) => Do("opening the journal", c =>
    {
        using NpgsqlTransaction tx = c.BeginTransaction();
        using (NpgsqlCommand lockCmd = new(PostgresSchema.SchemaLock, c, tx)) lockCmd.ExecuteNonQuery();
        using (NpgsqlCommand probe = new("SELECT to_regclass('twin_meta') IS NOT NULL", c, tx))
        {
            if ((bool)probe.ExecuteScalar()!)
            {
                ValidateMeta(c, tx);
                tx.Commit();
                return 0;
            }
        }
        using (NpgsqlCommand any = new("SELECT to_regclass('journal') IS NOT NULL OR to_regclass('runs') IS NOT NULL", c, tx))
        {
            if ((bool)any.ExecuteScalar()!)
            {
                throw new JournalFormatException($"{Uri}: not a Twin journal: the schema has journal or runs tables but no twin_meta");
            }
        }
        if (!create) throw new JournalFormatException($"{Uri}: not a Twin journal: the database has no Twin tables");
        using (NpgsqlCommand ddl = new(PostgresSchema.Create, c, tx)) ddl.ExecuteNonQuery();
        using (NpgsqlCommand meta = new("INSERT INTO twin_meta(key, value) VALUES ('format', $1), ('version', $2) ON CONFLICT DO NOTHING", c, tx))
        {
            meta.Parameters.AddWithValue(JournalMeta.Format);
            meta.Parameters.AddWithValue(PostgresSchema.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            meta.ExecuteNonQuery();
        }
        tx.Commit();
        return 0;
    });

    /// <summary>
    /// Has the plugin create its tables if they are missing, one process at a time (concurrent
    /// CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog), then drops the two
    /// indexes no query uses (<see cref="SqlPluginHocon.DropUnusedIndexes"/>).
    /// </summary>
    private void EnsurePluginTables() => Do("creating the plugin's tables", c =>
    {
        using (NpgsqlCommand lockCmd = new(PostgresSchema.PluginTablesLock, c)) lockCmd.ExecuteNonQuery();
        try
        {
            using NpgsqlCommand probe = new("SELECT to_regclass('journal') IS NOT NULL", c);
            if (!(bool)probe.ExecuteScalar()!)
            {
                _plugin.StartCreatingTables();
                using NpgsqlCommand drop = new(SqlPluginHocon.DropUnusedIndexes, c);
                drop.ExecuteNonQuery();
            }
        }
        finally
        {
            using NpgsqlCommand unlock = new(PostgresSchema.PluginTablesUnlock, c);
            unlock.ExecuteNonQuery();
        }
        return 0;
    });

    private void ValidateMeta(NpgsqlConnection c, NpgsqlTransaction tx)
    {
        using NpgsqlCommand cmd = new("SELECT key, value FROM twin_meta", c, tx);
        JournalMeta.Check(cmd, PostgresSchema.Version, Uri);
    }

    private RunInfo? FindRunOn(NpgsqlConnection c, string runId)
    {
        using NpgsqlCommand cmd = new(RunSelect + " WHERE run_id = $1", c);
        cmd.Parameters.AddWithValue(runId);
        IReadOnlyList<RunInfo> runs = ReadRuns(cmd);
        return runs.Count == 0 ? null : runs[0];
    }

    private IReadOnlyList<RunInfo> ReadRuns(NpgsqlCommand cmd) => RunRows.ReadAll(cmd, Uri);
}
