using Npgsql;
using Twin.Persistence.Codec;

namespace Twin.Persistence.Postgres;

/// <summary>
/// The journal on a PostgreSQL server (<c>postgres:CONNECTION-STRING</c>, Npgsql's keyword form,
/// e.g. <c>postgres:Host=db;Port=5432;Database=twin;Username=twin</c>; <c>Search Path=NAME</c> keeps
/// a journal in its own schema). Several processes on several machines may write to one journal,
/// one writer per run; the writer commits groups of rows with binary COPY (see
/// <see cref="PostgresJournalWriter"/>).
/// </summary>
public sealed class PostgresJournal : IJournal
{
    private readonly NpgsqlDataSource _dataSource;

    private PostgresJournal(NpgsqlDataSource dataSource, string uri)
    {
        _dataSource = dataSource;
        Uri = uri;
    }

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
        var journal = new PostgresJournal(NpgsqlDataSource.Create(builder), uri);
        try
        {
            journal.InitializeOrValidate(create);
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
        return (IJournalWriter)new PostgresJournalWriter(this, FindRunOn(c, start.RunId)!);
    });

    IJournalWriter IJournal.OpenUnclaimedWriter(RunInfo run) => new PostgresJournalWriter(this, run);

    public IJournalWriter TakeOverRun(RunInfo run, string writerUuid) => Do($"taking over run '{run.RunId}'", c =>
    {
        using NpgsqlCommand cmd = new("UPDATE runs SET writer_uuid = $1 WHERE run_no = $2 AND status = 'running' AND writer_uuid = $3", c);
        cmd.Parameters.AddWithValue(writerUuid);
        cmd.Parameters.AddWithValue(run.RunNo);
        cmd.Parameters.AddWithValue(run.WriterUuid);
        if (cmd.ExecuteNonQuery() != 1) throw Sqlite.SqliteJournal.TakeOverRefused(run, FindRunOn(c, run.RunId));
        return (IJournalWriter)new PostgresJournalWriter(this, FindRunOn(c, run.RunId)!);
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
        new PostgresCursor(this, $"reading {persistenceId}", """
            SELECT ordering, persistence_id, sequence_number, manifest, timestamp, payload FROM journal
            WHERE persistence_id = $1 AND sequence_number >= $2 AND sequence_number <= $3 AND NOT is_deleted
            ORDER BY sequence_number LIMIT $4
            """, persistenceId, fromSequenceNr, toSequenceNr, max);

    public IJournalCursor ReadRun(RunInfo run) =>
        new PostgresCursor(this, $"reading run '{run.RunId}'", """
            SELECT ordering, persistence_id, sequence_number, manifest, timestamp, payload FROM journal
            WHERE run_no = $1 AND NOT is_deleted ORDER BY ordering
            """, run.RunNo);

    public void DeleteMessagesTo(string persistenceId, long toSequenceNr) => Do($"deleting messages of {persistenceId}", c =>
    {
        using NpgsqlCommand cmd = new("UPDATE journal SET is_deleted = true WHERE persistence_id = $1 AND sequence_number <= $2", c);
        cmd.Parameters.AddWithValue(persistenceId);
        cmd.Parameters.AddWithValue(toSequenceNr);
        return cmd.ExecuteNonQuery();
    });

    public void DeleteRun(RunInfo run) => Do($"deleting run '{run.RunId}'", c =>
    {
        using NpgsqlTransaction tx = c.BeginTransaction();
        foreach (string sql in (string[])[
            "DELETE FROM journal WHERE run_no = $1",
            "DELETE FROM snapshots WHERE persistence_id LIKE $2",
            "DELETE FROM checkpoints WHERE run_no = $1",
            "DELETE FROM runs WHERE run_no = $1"])
        {
            using NpgsqlCommand cmd = new(sql, c, tx);
            cmd.Parameters.AddWithValue(run.RunNo);
            cmd.Parameters.AddWithValue(run.PersistenceIdPrefix + "%");
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
        return 0;
    });

    public Campaigns.ICampaignStore OpenCampaigns() =>
        new Campaigns.SqlCampaignStore(Uri, () => _dataSource.OpenConnection(), Campaigns.SqlDialect.Postgres);

    public void SaveSnapshot(SnapshotRecord snapshot) => Do($"saving a snapshot of {snapshot.PersistenceId}", c =>
    {
        using NpgsqlCommand cmd = new("""
            INSERT INTO snapshots(persistence_id, sequence_number, created, state_hash, manifest, snapshot)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (persistence_id, sequence_number) DO UPDATE
            SET created = EXCLUDED.created, state_hash = EXCLUDED.state_hash, manifest = EXCLUDED.manifest, snapshot = EXCLUDED.snapshot
            """, c);
        cmd.Parameters.AddWithValue(snapshot.PersistenceId);
        cmd.Parameters.AddWithValue(snapshot.SequenceNr);
        cmd.Parameters.AddWithValue(snapshot.TimestampNs);
        cmd.Parameters.AddWithValue(unchecked((long)snapshot.StateHash));
        cmd.Parameters.AddWithValue(snapshot.Manifest);
        cmd.Parameters.AddWithValue(snapshot.Payload);
        return cmd.ExecuteNonQuery();
    });

    public SnapshotRecord? LoadSnapshot(string persistenceId, long maxSequenceNr) => Do($"loading a snapshot of {persistenceId}", c =>
    {
        using NpgsqlCommand cmd = new("""
            SELECT sequence_number, created, state_hash, manifest, snapshot FROM snapshots
            WHERE persistence_id = $1 AND sequence_number <= $2 ORDER BY sequence_number DESC LIMIT 1
            """, c);
        cmd.Parameters.AddWithValue(persistenceId);
        cmd.Parameters.AddWithValue(maxSequenceNr);
        using NpgsqlDataReader r = cmd.ExecuteReader();
        if (!r.Read()) return null;
        return new SnapshotRecord(persistenceId, r.GetInt64(0), r.GetInt64(1), unchecked((ulong)r.GetInt64(2)), r.GetInt32(3), r.GetFieldValue<byte[]>(4));
    });

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

    public void Dispose() => _dataSource.Dispose();

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
