namespace Twin.Persistence.Sqlite;

/// <summary>
/// The journal's tables. <c>journal</c> and <c>snapshots</c> follow Akka.Persistence.Sql's
/// layout; <c>runs</c>, <c>checkpoints</c> and <c>manifests</c> are Twin's. Conventions that keep a
/// row small: <c>manifest</c> is an integer (code &lt;&lt; 4 | version, names in <c>manifests</c>),
/// <c>timestamp</c> is the event's virtual time in ns, and <c>writer_uuid</c> is NULL when the row
/// was written by the run's own writer (recorded in <c>runs.writer_uuid</c>).
/// </summary>
internal static class SqliteSchema
{
    public const int Version = 1;

    public const string Create = """
        CREATE TABLE IF NOT EXISTS twin_meta(
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS journal(
            ordering INTEGER PRIMARY KEY,
            persistence_id TEXT NOT NULL,
            sequence_number INTEGER NOT NULL,
            is_deleted INTEGER NOT NULL DEFAULT 0,
            manifest INTEGER NOT NULL,
            payload BLOB NOT NULL,
            tags TEXT,
            timestamp INTEGER NOT NULL,
            writer_uuid TEXT);
        CREATE UNIQUE INDEX IF NOT EXISTS journal_persistence_id_sequence_number
            ON journal(persistence_id, sequence_number);
        CREATE TABLE IF NOT EXISTS runs(
            run_no INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            seed INTEGER NOT NULL,
            config TEXT NOT NULL,
            code_version TEXT NOT NULL,
            status TEXT NOT NULL,
            writer_uuid TEXT NOT NULL,
            started_unix_ms INTEGER NOT NULL,
            finished_unix_ms INTEGER,
            summary TEXT,
            first_ordering INTEGER);
        CREATE TABLE IF NOT EXISTS checkpoints(
            run_no INTEGER NOT NULL,
            event_count INTEGER NOT NULL,
            timestamp INTEGER NOT NULL,
            state_hash INTEGER NOT NULL,
            PRIMARY KEY(run_no, event_count));
        CREATE TABLE IF NOT EXISTS snapshots(
            persistence_id TEXT NOT NULL,
            sequence_number INTEGER NOT NULL,
            created INTEGER NOT NULL,
            state_hash INTEGER NOT NULL,
            manifest INTEGER NOT NULL,
            snapshot BLOB NOT NULL,
            PRIMARY KEY(persistence_id, sequence_number));
        CREATE TABLE IF NOT EXISTS manifests(
            manifest INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL);
        """;
}
