namespace Twin.Persistence.Campaigns;

/// <summary>
/// Campaign tables, the same on SQLite and PostgreSQL (both take these type names). A seed row
/// is written when the seed is first claimed: <c>claimed</c> with a worker and a lease, then
/// <c>done</c> with its outcome. Seeds not yet claimed are only <c>campaigns.next_seed</c>, so an
/// <c>--hours</c> campaign needs no rows ahead of time.
/// </summary>
internal static class CampaignSchema
{
    public const string Create = """
        CREATE TABLE IF NOT EXISTS campaigns(
            name text PRIMARY KEY,
            config text NOT NULL,
            code_version text NOT NULL,
            first_seed bigint NOT NULL,
            last_seed bigint,
            deadline_unix_ms bigint,
            lease_ms bigint NOT NULL,
            keep_passing double precision NOT NULL,
            stop_at_first integer NOT NULL,
            next_seed bigint NOT NULL,
            stopped integer NOT NULL DEFAULT 0,
            created_unix_ms bigint NOT NULL);
        CREATE TABLE IF NOT EXISTS campaign_seeds(
            campaign text NOT NULL,
            seed bigint NOT NULL,
            status text NOT NULL,
            worker_uuid text NOT NULL,
            lease_until_ms bigint NOT NULL,
            attempts integer NOT NULL,
            events bigint,
            state_hash bigint,
            wall_ms bigint,
            violations integer,
            run_id text,
            result text,
            PRIMARY KEY(campaign, seed));
        CREATE INDEX IF NOT EXISTS campaign_seeds_status ON campaign_seeds(campaign, status, lease_until_ms);
        CREATE TABLE IF NOT EXISTS campaign_workers(
            uuid text PRIMARY KEY,
            campaign text NOT NULL,
            host text NOT NULL,
            pid integer NOT NULL,
            pid_start text NOT NULL,
            joined_unix_ms bigint NOT NULL);
        """;
}

/// <summary>Where the two SQL dialects differ for campaigns.</summary>
/// <param name="SkipLocked">Appended to the query for lost claims.</param>
/// <param name="SchemaLock">Run before creating the tables, in the same transaction; empty where the transaction itself serializes.</param>
public sealed record SqlDialect(string SkipLocked, string SchemaLock)
{
    /// <summary>SQLite: one writer at a time (the transaction's write lock); there is no row locking.</summary>
    public static readonly SqlDialect Sqlite = new("", "");

    /// <summary>PostgreSQL: workers skip seed rows another worker is claiming right now; DDL under the journal's advisory lock.</summary>
    public static readonly SqlDialect Postgres = new(" FOR UPDATE SKIP LOCKED", Twin.Persistence.Postgres.PostgresSchema.SchemaLock);
}
