namespace Twin.Persistence.Sqlite;

/// <summary>
/// Twin's own tables of an SQLite journal, beside the ones Akka.Persistence.Sql creates and
/// writes (<c>journal</c>, <c>snapshot</c>): what the plugin has no place for. <c>runs</c> names
/// each run (its persistence ids are <c>RUN_NO:STREAM</c>, its events tagged <c>run-RUN_NO</c>),
/// <c>checkpoints</c> hold state hashes, <c>manifests</c> spell out the manifest numbers.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>2: events in the plugin's own tables (1 was Twin's imitation of them).</summary>
    public const int Version = 2;

    public const string Create = """
        CREATE TABLE IF NOT EXISTS twin_meta(
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL);
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
        CREATE TABLE IF NOT EXISTS manifests(
            manifest INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL);
        """;

    /// <summary>The columns a Twin row is read by, in the order <see cref="SqliteCursor"/> expects.</summary>
    public const string RowColumns = "ordering, persistence_id, sequence_number, manifest, created, message, identifier";
}
