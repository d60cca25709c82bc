namespace Twin.Persistence.Postgres;

/// <summary>
/// The PostgreSQL journal's tables: the same layout as the SQLite journal (Akka.Persistence.Sql's
/// <c>journal</c> and <c>snapshots</c>, Twin's <c>runs</c>, <c>checkpoints</c>, <c>manifests</c>),
/// plus a <c>run_no</c> column on <c>journal</c>. Several writers append at once here (one per run,
/// on several machines), so a run's rows are found by (run_no, ordering) rather than by the
/// SQLite journal's "first ordering" of the run. Campaign tables live in <c>CampaignSchema</c>.
/// </summary>
internal static class PostgresSchema
{
    public const int Version = 1;

    /// <summary>
    /// Held until the transaction ends while creating tables, so workers starting together do not
    /// race on DDL. The key is "twin" and 1 as a 64-bit number (0x7477696E_00000001).
    /// </summary>
    public const string SchemaLock = "SELECT pg_advisory_xact_lock(8392292351795527681)";

    public const string Create = """
        CREATE TABLE IF NOT EXISTS twin_meta(
            key text PRIMARY KEY,
            value text NOT NULL);
        CREATE TABLE IF NOT EXISTS journal(
            ordering bigserial PRIMARY KEY,
            run_no integer NOT NULL,
            persistence_id text NOT NULL,
            sequence_number bigint NOT NULL,
            is_deleted boolean NOT NULL DEFAULT false,
            manifest integer NOT NULL,
            payload bytea NOT NULL,
            tags text,
            timestamp bigint NOT NULL,
            writer_uuid text,
            CONSTRAINT journal_persistence_id_sequence_number UNIQUE (persistence_id, sequence_number));
        CREATE INDEX IF NOT EXISTS journal_run_no_ordering ON journal(run_no, ordering);
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
            summary text);
        CREATE TABLE IF NOT EXISTS checkpoints(
            run_no integer NOT NULL,
            event_count bigint NOT NULL,
            timestamp bigint NOT NULL,
            state_hash bigint NOT NULL,
            PRIMARY KEY(run_no, event_count));
        CREATE TABLE IF NOT EXISTS snapshots(
            persistence_id text NOT NULL,
            sequence_number bigint NOT NULL,
            created bigint NOT NULL,
            state_hash bigint NOT NULL,
            manifest integer NOT NULL,
            snapshot bytea NOT NULL,
            PRIMARY KEY(persistence_id, sequence_number));
        CREATE TABLE IF NOT EXISTS manifests(
            manifest integer PRIMARY KEY,
            name text NOT NULL,
            version integer NOT NULL);
        """;
}
