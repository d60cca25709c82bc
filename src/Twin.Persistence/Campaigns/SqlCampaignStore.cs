using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Twin.Persistence.Postgres;
using Twin.Persistence.Sqlite;

namespace Twin.Persistence.Campaigns;

/// <summary>
/// Campaigns on SQLite or PostgreSQL through ADO.NET; the SQL is the same but for how a claim
/// locks (see <see cref="SqlDialect"/>). Every operation is one short transaction on a fresh (or
/// pooled) connection, so a broken connection costs one retry, not the campaign.
/// </summary>
internal sealed class SqlCampaignStore : ICampaignStore
{
    private readonly string _uri;
    private readonly Func<DbConnection> _open;
    private readonly SqlDialect _dialect;

    public SqlCampaignStore(string uri, Func<DbConnection> open, SqlDialect dialect)
    {
        _uri = uri;
        _open = open;
        _dialect = dialect;
        Do("creating the campaign tables", (c, tx) =>
        {
            if (_dialect.SchemaLock.Length > 0) Exec(c, tx, _dialect.SchemaLock);
            Exec(c, tx, CampaignSchema.Create);
            return 0;
        });
    }

    public CampaignInfo CreateOrJoin(CampaignSpec spec) => Do($"creating campaign '{spec.Name}'", (c, tx) =>
    {
        Exec(c, tx, """
            INSERT INTO campaigns(name, config, code_version, first_seed, last_seed, deadline_unix_ms, lease_ms, keep_passing, stop_at_first, next_seed, created_unix_ms)
            VALUES (@n, @cfg, @code, @first, @last, @deadline, @lease, @keep, @stop, @first, @now) ON CONFLICT (name) DO NOTHING
            """, ("@n", spec.Name), ("@cfg", spec.ConfigJson), ("@code", spec.CodeVersion), ("@first", spec.FirstSeed),
            ("@last", spec.LastSeed), ("@deadline", spec.DeadlineUnixMs), ("@lease", spec.LeaseMs), ("@keep", spec.KeepPassing),
            ("@stop", spec.StopAtFirst ? 1 : 0), ("@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        CampaignInfo stored = FindOn(c, tx, spec.Name)!;
        string? differs = Differs(stored.Spec, spec);
        if (differs is not null)
        {
            throw new JournalConflictException($"{_uri}: campaign '{spec.Name}' exists with another {differs}; use another --campaign name, or --resume to continue it as it is");
        }
        return stored;
    });

    public CampaignInfo? Find(string name) => Do("reading the campaigns table", (c, tx) => FindOn(c, tx, name));

    public IReadOnlyList<CampaignInfo> List() => Do("reading the campaigns table", (c, tx) => ReadCampaigns(c, tx, CampaignSelect + " ORDER BY created_unix_ms, name"));

    public int Join(string campaign, WorkerIdentity worker, Func<WorkerIdentity, bool> isDeadHere) => Do($"joining campaign '{campaign}'", (c, tx) =>
    {
        Exec(c, tx, """
            INSERT INTO campaign_workers(uuid, campaign, host, pid, pid_start, joined_unix_ms) VALUES (@u, @c, @h, @p, @ps, @now)
            ON CONFLICT (uuid) DO NOTHING
            """, ("@u", worker.Uuid), ("@c", campaign), ("@h", worker.Host), ("@p", worker.Pid), ("@ps", worker.PidStart),
            ("@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        var holders = new List<WorkerIdentity>();
        using (DbCommand cmd = Command(c, tx, """
            SELECT DISTINCT w.uuid, w.host, w.pid, w.pid_start FROM campaign_workers w
            JOIN campaign_seeds s ON s.worker_uuid = w.uuid
            WHERE s.campaign = @c AND s.status = 'claimed' AND w.host = @h AND w.uuid <> @u
            """, ("@c", campaign), ("@h", worker.Host), ("@u", worker.Uuid)))
        using (DbDataReader r = cmd.ExecuteReader())
        {
            while (r.Read()) holders.Add(new WorkerIdentity(r.GetString(0), r.GetString(1), Convert.ToInt32(r.GetValue(2), CultureInfo.InvariantCulture), r.GetString(3)));
        }
        int released = 0;
        foreach (WorkerIdentity dead in holders.Where(isDeadHere))
        {
            released += Exec(c, tx, "UPDATE campaign_seeds SET lease_until_ms = 0 WHERE campaign = @c AND worker_uuid = @u AND status = 'claimed'",
                ("@c", campaign), ("@u", dead.Uuid));
        }
        return released;
    });

    public ClaimResult TryClaim(string campaign, WorkerIdentity worker, long nowUnixMs, out SeedClaim claim)
    {
        (ClaimResult result, SeedClaim got) = Do($"claiming a seed of campaign '{campaign}'", (c, tx) =>
        {
            CampaignInfo info = FindOn(c, tx, campaign) ?? throw new JournalFormatException($"{_uri} has no campaign '{campaign}'");
            if (info.Stopped) return (ClaimResult.Finished, default(SeedClaim));
            long until = nowUnixMs + info.Spec.LeaseMs;
            using (DbCommand lost = Command(c, tx, $"""
                SELECT seed, attempts FROM campaign_seeds WHERE campaign = @c AND status = 'claimed' AND lease_until_ms < @now
                ORDER BY seed LIMIT 1{_dialect.SkipLocked}
                """, ("@c", campaign), ("@now", nowUnixMs)))
            {
                long seed = -1;
                int attempts = 0;
                using (DbDataReader r = lost.ExecuteReader())
                {
                    if (r.Read())
                    {
                        seed = r.GetInt64(0);
                        attempts = Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture);
                    }
                }
                if (seed >= 0)
                {
                    Exec(c, tx, "UPDATE campaign_seeds SET worker_uuid = @w, lease_until_ms = @until, attempts = attempts + 1 WHERE campaign = @c AND seed = @s",
                        ("@w", worker.Uuid), ("@until", until), ("@c", campaign), ("@s", seed));
                    return (ClaimResult.Claimed, new SeedClaim(seed, attempts + 1));
                }
            }
            if (info.Spec.DeadlineUnixMs is null || nowUnixMs < info.Spec.DeadlineUnixMs)
            {
                object? next = Scalar(c, tx, """
                    UPDATE campaigns SET next_seed = next_seed + 1
                    WHERE name = @c AND stopped = 0 AND (last_seed IS NULL OR next_seed <= last_seed) RETURNING next_seed - 1
                    """, ("@c", campaign));
                if (next is not null)
                {
                    long seed = Convert.ToInt64(next, CultureInfo.InvariantCulture);
                    Exec(c, tx, "INSERT INTO campaign_seeds(campaign, seed, status, worker_uuid, lease_until_ms, attempts) VALUES (@c, @s, 'claimed', @w, @until, 1)",
                        ("@c", campaign), ("@s", seed), ("@w", worker.Uuid), ("@until", until));
                    return (ClaimResult.Claimed, new SeedClaim(seed, 1));
                }
            }
            long held = Convert.ToInt64(Scalar(c, tx, "SELECT COUNT(*) FROM campaign_seeds WHERE campaign = @c AND status = 'claimed'", ("@c", campaign)), CultureInfo.InvariantCulture);
            return (held > 0 ? ClaimResult.WaitForOthers : ClaimResult.Finished, default(SeedClaim));
        });
        claim = got;
        return result;
    }

    public void Renew(string campaign, WorkerIdentity worker, long nowUnixMs) => Do($"renewing the leases of campaign '{campaign}'", (c, tx) =>
        Exec(c, tx, """
            UPDATE campaign_seeds SET lease_until_ms = @now + (SELECT lease_ms FROM campaigns WHERE name = @c)
            WHERE campaign = @c AND worker_uuid = @w AND status = 'claimed' AND lease_until_ms > 0
            """, ("@now", nowUnixMs), ("@c", campaign), ("@w", worker.Uuid)));

    public bool Complete(string campaign, long seed, WorkerIdentity worker, SeedOutcome o) => Do($"storing seed {seed} of campaign '{campaign}'", (c, tx) =>
        Exec(c, tx, """
            UPDATE campaign_seeds SET status = 'done', events = @e, state_hash = @h, wall_ms = @ms, violations = @v, run_id = @run, result = @res
            WHERE campaign = @c AND seed = @s AND worker_uuid = @w AND status = 'claimed'
            """, ("@e", o.Events), ("@h", unchecked((long)o.StateHash)), ("@ms", o.WallMs), ("@v", o.Violations), ("@run", o.RunId),
            ("@res", o.ResultJson), ("@c", campaign), ("@s", seed), ("@w", worker.Uuid)) == 1);

    public void Release(string campaign, long seed, WorkerIdentity worker) => Do($"giving back seed {seed} of campaign '{campaign}'", (c, tx) =>
        Exec(c, tx, "UPDATE campaign_seeds SET lease_until_ms = 0 WHERE campaign = @c AND seed = @s AND worker_uuid = @w AND status = 'claimed'",
            ("@c", campaign), ("@s", seed), ("@w", worker.Uuid)));

    public void Stop(string campaign) => Do($"stopping campaign '{campaign}'", (c, tx) =>
        Exec(c, tx, "UPDATE campaigns SET stopped = 1 WHERE name = @c", ("@c", campaign)));

    public CampaignTotals Totals(string campaign) => Do($"summing campaign '{campaign}'", (c, tx) =>
    {
        using DbCommand cmd = Command(c, tx, """
            SELECT COALESCE(SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN status = 'done' THEN events ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN status = 'done' AND violations > 0 THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN status = 'claimed' THEN 1 ELSE 0 END), 0)
            FROM campaign_seeds WHERE campaign = @c
            """, ("@c", campaign));
        using DbDataReader r = cmd.ExecuteReader();
        r.Read();
        return new CampaignTotals(Long(r, 0), Long(r, 1), Long(r, 2), Long(r, 3));
    });

    public IReadOnlyList<SeedRow> Seeds(string campaign, bool failingOnly) => Do($"reading the seeds of campaign '{campaign}'", (c, tx) =>
    {
        using DbCommand cmd = Command(c, tx, $"""
            SELECT seed, attempts, worker_uuid, events, state_hash, wall_ms, violations, run_id, result FROM campaign_seeds
            WHERE campaign = @c AND status = 'done'{(failingOnly ? " AND violations > 0" : "")} ORDER BY seed
            """, ("@c", campaign));
        using DbDataReader r = cmd.ExecuteReader();
        var rows = new List<SeedRow>();
        while (r.Read())
        {
            rows.Add(new SeedRow(r.GetInt64(0), (int)Long(r, 1), r.GetString(2), new SeedOutcome(
                Long(r, 3), unchecked((ulong)Long(r, 4)), Long(r, 5), (int)Long(r, 6), r.IsDBNull(7) ? null : r.GetString(7), r.GetString(8))));
        }
        return (IReadOnlyList<SeedRow>)rows;
    });

    public void Dispose()
    {
    }

    private const string CampaignSelect = """
        SELECT name, config, code_version, first_seed, last_seed, deadline_unix_ms, lease_ms, keep_passing, stop_at_first, next_seed, created_unix_ms, stopped
        FROM campaigns
        """;

    private static string? Differs(CampaignSpec stored, CampaignSpec wanted)
    {
        if (stored.ConfigJson != wanted.ConfigJson) return "config";
        if (stored.FirstSeed != wanted.FirstSeed || stored.LastSeed != wanted.LastSeed) return $"seed range ({stored.FirstSeed}..{stored.LastSeed?.ToString(CultureInfo.InvariantCulture) ?? "no end"})";
        if (stored.CodeVersion != wanted.CodeVersion) return $"code version ({stored.CodeVersion}): its runs would not be comparable";
        return null;
    }

    private CampaignInfo? FindOn(DbConnection c, DbTransaction tx, string name)
    {
        IReadOnlyList<CampaignInfo> found = ReadCampaigns(c, tx, CampaignSelect + " WHERE name = @n", ("@n", name));
        return found.Count == 0 ? null : found[0];
    }

    private static IReadOnlyList<CampaignInfo> ReadCampaigns(DbConnection c, DbTransaction tx, string sql, params (string, object?)[] args)
    {
        using DbCommand cmd = Command(c, tx, sql, args);
        using DbDataReader r = cmd.ExecuteReader();
        var list = new List<CampaignInfo>();
        while (r.Read())
        {
            var spec = new CampaignSpec(r.GetString(0), r.GetString(1), r.GetString(2), Long(r, 3), r.IsDBNull(4) ? null : Long(r, 4),
                r.IsDBNull(5) ? null : Long(r, 5), Long(r, 6), Convert.ToDouble(r.GetValue(7), CultureInfo.InvariantCulture), Long(r, 8) != 0);
            list.Add(new CampaignInfo(spec, Long(r, 9), Long(r, 10), Long(r, 11) != 0));
        }
        return list;
    }

    private static long Long(DbDataReader r, int i) => Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture);

    private T Do<T>(string doing, Func<DbConnection, DbTransaction, T> action)
    {
        try
        {
            using DbConnection c = _open();
            using DbTransaction tx = c.BeginTransaction();
            T result = action(c, tx);
            tx.Commit();
            return result;
        }
        catch (Exception e) when (e is not JournalException)
        {
            string where = $"{_uri}: {doing}";
            throw e is SqliteException s ? SqliteJournal.Translate(s, where) : PostgresErrors.Translate(e, where);
        }
    }

    private static DbCommand Command(DbConnection c, DbTransaction tx, string sql, params (string Name, object? Value)[] args)
    {
        DbCommand cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach ((string name, object? value) in args)
        {
            DbParameter p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    private static int Exec(DbConnection c, DbTransaction tx, string sql, params (string, object?)[] args)
    {
        using DbCommand cmd = Command(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(DbConnection c, DbTransaction tx, string sql, params (string, object?)[] args)
    {
        using DbCommand cmd = Command(c, tx, sql, args);
        object? v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }
}
