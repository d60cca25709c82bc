namespace Twin.Persistence.Postgres;

/// <summary>
/// Twin's own tables of a PostgreSQL journal, beside Akka.Persistence.Sql's <c>journal</c> and
/// <c>snapshot</c> (which the plugin creates): the same as the SQLite journal's. Several writers
/// append at once here (one per run, on several machines); a run's rows are found from its
/// <c>first_ordering</c> by persistence-id prefix. Campaign tables live in <c>CampaignSchema</c>.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>2: events in the plugin's own tables (1 was Twin's imitation of them, with a run_no column).</summary>
    public const int Version = 2;

    /// <summary>Held (per session) while the plugin creates its tables, for the same reason.</summary>
    public const string PluginTablesLock = "SELECT pg_advisory_lock(8392292351795527682)";

    public const string PluginTablesUnlock = "SELECT pg_advisory_unlock(8392292351795527682)";

    /// <summary>The columns a Twin row is read by, in the order <see cref="PostgresCursor"/> expects.</summary>
    public const string RowColumns = "ordering, persistence_id, sequence_number, manifest, created, message, identifier";

    /// <summary>
    /// Held until the transaction ends while creating tables, so workers starting together do not
    /// race on DDL. The key is "twin" and 1 as a 64-bit number (0x7477696E_00000001).
    /// </summary>
    public const string SchemaLock = "SELECT pg_advisory_xact_lock(8392292351795527681)";

    public const string Create = """
        CREATE TABLE IF NOT EXISTS twin_meta(
            key text PRIMARY KEY,
            value text NOT NULL);
        CREATE TABLE IF NOT EXISTS runs(
            run_no serial PRIMARY KEY,
            run_id text NOT NULL UNIQUE,
            seed bigint NOT NULL,
            config text NOT NULL,
            code_version text NOT NULL,
            status text NOT NULL,
            writer_uuid text NOT NULL,
            started_unix_ms bigint NOT NULL,
            finished_unix_ms bigint,
            summary text,
            first_ordering bigint);
        CREATE TABLE IF NOT EXISTS checkpoints(
            run_no integer NOT NULL,
            event_count bigint NOT NULL,
            timestamp bigint NOT NULL,
            state_hash bigint NOT NULL,
            PRIMARY KEY(run_no, event_count));
        CREATE TABLE IF NOT EXISTS manifests(
            manifest integer PRIMARY KEY,
            name text NOT NULL,
            version integer NOT NULL);
        """;
}
