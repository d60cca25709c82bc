using Npgsql;
using Twin.Persistence.Codec;
using Twin.Persistence.Sql;

namespace Twin.Persistence.Postgres;

/// <summary>
/// The journal on a PostgreSQL server (<c>postgres:CONNECTION-STRING</c>, Npgsql's keyword form,
/// e.g. <c>postgres:Host=db;Port=5432;Database=twin;Username=twin</c>; <c>Search Path=NAME</c> keeps
/// a journal in its own schema). Events are Akka.Persistence.Sql's, written through the plugin
/// (<see cref="SqlPluginWriter"/>); Twin's own tables sit beside them (<see cref="RunCatalog"/>). Several
/// processes on several machines may write to one journal, one writer per run.
/// </summary>
public sealed class PostgresJournal : IJournal
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly SqlPluginStarter _plugin;
    private readonly RunCatalog _catalog;

    private PostgresJournal(NpgsqlDataSource dataSource, string uri, string connectionString)
    {
        _dataSource = dataSource;
        Uri = uri;
        var backend = SqlBackend.Postgres(uri, connectionString);
        _plugin = new SqlPluginStarter(backend);
        _catalog = new RunCatalog(backend);
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

    public IJournalWriter StartRun(RunStart start) => NewWriter(_catalog.Start(start), resumed: false);

    public IJournalWriter TakeOverRun(RunInfo run, string writerUuid) => NewWriter(_catalog.TakeOver(run, writerUuid), resumed: true);

    IJournalWriter IJournal.OpenUnclaimedWriter(RunInfo run) => NewWriter(run, resumed: true);

    private SqlPluginWriter NewWriter(RunInfo run, bool resumed)
    {
        _plugin.Begin();
        return new SqlPluginWriter(_plugin, _catalog, run, resumed);
    }

    public void RegisterManifests(IEnumerable<EventManifest> manifests) => _catalog.RegisterManifests(manifests);

    public RunInfo? FindRun(string runId) => _catalog.FindRun(runId);

    public IReadOnlyList<RunInfo> ListRuns() => _catalog.ListRuns();

    public long ReadHighestSequenceNr(string persistenceId) => _catalog.HighestSequenceNr(persistenceId);

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
            WHERE ordering >= $1 AND starts_with(persistence_id, $2) AND NOT deleted
            ORDER BY ordering
            """, _catalog.FirstOrdering(run), run.PersistenceIdPrefix));

    public void DeleteRun(RunInfo run) => _catalog.DeleteRun(run);

    public Campaigns.ICampaignStore OpenCampaigns() =>
        new Campaigns.SqlCampaignStore(Uri, () => _dataSource.OpenConnection(), Campaigns.SqlDialect.Postgres);

    public IReadOnlyList<Checkpoint> ReadCheckpoints(RunInfo run) => _catalog.ReadCheckpoints(run);

    public void Dispose()
    {
        _plugin.Dispose();
        _dataSource.Dispose();
    }

    /// <summary>Runs <paramref name="action"/> on a pooled connection; every failure becomes a <see cref="JournalException"/> naming what was being done.</summary>
    private T Do<T>(string doing, Func<NpgsqlConnection, T> action)
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
}
