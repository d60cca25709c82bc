using LinqToDB;
using LinqToDB.Data;
using LinqToDB.Mapping;

namespace Twin.Persistence.Sql;

/// <summary>
/// Twin's run catalog beside the plugin's tables (<c>runs</c>, <c>checkpoints</c>, <c>manifests</c>),
/// written once for SQLite and PostgreSQL alike through linq2db, on the same options the plugin
/// connects with (SQLite's pragmas included). Every failure becomes a <see cref="JournalException"/>
/// naming what was being done.
/// </summary>
internal sealed class RunCatalog(SqlBackend backend)
{
    public RunInfo Start(RunStart start) => Do($"starting run '{start.RunId}'", db =>
    {
        try
        {
            Insert(db, start);
        }
        catch (Exception e) when (e is not JournalException)
        {
            // Another process inserted the same run id meanwhile (run_id is UNIQUE).
            if (Find(db, start.RunId) is { } raced) throw AlreadyExists(start.RunId, raced);
            throw;
        }
        return Find(db, start.RunId)!;
    });

    /// <summary>The run's writer becomes <paramref name="writerUuid"/> if it is still running under its old one.</summary>
    public RunInfo TakeOver(RunInfo run, string writerUuid) => Do($"taking over run '{run.RunId}'", db =>
    {
        int taken = db.GetTable<RunRow>()
            .Where(r => r.RunNo == run.RunNo && r.Status == "running" && r.WriterUuid == run.WriterUuid)
            .Set(r => r.WriterUuid, writerUuid)
            .Update();
        RunInfo? now = Find(db, run.RunId);
        if (taken != 1 || now is null) throw TakeOverRefused(run, now);
        return now;
    });

    public RunInfo? FindRun(string runId) => Do("reading the runs table", db => Find(db, runId));

    public IReadOnlyList<RunInfo> ListRuns() => Do("reading the runs table", db =>
        db.GetTable<RunRow>().OrderBy(r => r.RunNo).AsEnumerable().Select(ToInfo).ToList());

    public long HighestSequenceNr(string persistenceId) => Do($"reading the highest sequence number of {persistenceId}", db =>
        db.GetTable<JournalKey>().Where(j => j.PersistenceId == persistenceId).Max(j => (long?)j.SequenceNumber) ?? 0);

    /// <summary>Where the run's rows start in the journal's global order (0 if it never recorded it).</summary>
    public long FirstOrdering(RunInfo run) => Do("reading the runs table", db =>
        db.GetTable<RunRow>().Where(r => r.RunNo == run.RunNo).Select(r => r.FirstOrdering).FirstOrDefault() ?? 0);

    public IReadOnlyList<Checkpoint> ReadCheckpoints(RunInfo run) => Do("reading checkpoints", db =>
        db.GetTable<CheckpointRow>().Where(c => c.RunNo == run.RunNo).OrderBy(c => c.EventCount)
            .AsEnumerable().Select(c => new Checkpoint(c.EventCount, c.Timestamp, unchecked((ulong)c.StateHash))).ToList());

    /// <summary>
    /// After a run's events are committed: records where its rows start (if <paramref name="firstRow"/>
    /// is its first row ever) and the checkpoints whose events are now all committed, in one transaction.
    /// </summary>
    /// <param name="resumed">A resumed run whose first row was never recorded (killed between the plugin's commit and this one) takes its lowest row.</param>
    public void AfterCommit(RunInfo run, bool resumed, (string PersistenceId, long SequenceNr)? firstRow, IReadOnlyList<Checkpoint> checkpoints) =>
        Do($"writing checkpoints of run '{run.RunId}'", db =>
        {
            using DataConnectionTransaction tx = db.BeginTransaction();
            if (firstRow is { } first)
            {
                string prefix = run.PersistenceIdPrefix;
                ITable<JournalKey> journal = db.GetTable<JournalKey>();
                long? ordering = resumed
                    ? journal.Where(j => j.PersistenceId.StartsWith(prefix)).Min(j => (long?)j.Ordering)
                    : journal.Where(j => j.PersistenceId == first.PersistenceId && j.SequenceNumber == first.SequenceNr).Select(j => (long?)j.Ordering).FirstOrDefault();
                db.GetTable<RunRow>().Where(r => r.RunNo == run.RunNo && r.FirstOrdering == null).Set(r => r.FirstOrdering, ordering).Update();
            }
            foreach (Checkpoint c in checkpoints)
            {
                db.InsertOrReplace(new CheckpointRow { RunNo = run.RunNo, EventCount = c.EventCount, Timestamp = c.TimestampNs, StateHash = unchecked((long)c.StateHash) });
            }
            tx.Commit();
            return 0;
        });

    public void MarkFinished(RunInfo run, RunStatus status, string summaryJson) => Do($"finishing run '{run.RunId}'", db =>
        db.GetTable<RunRow>().Where(r => r.RunNo == run.RunNo)
            .Set(r => r.Status, RunStatusText.Of(status))
            .Set(r => r.Summary, summaryJson)
            .Set(r => r.FinishedUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())
            .Update());

    /// <summary>Removes a run whole, in plain SQL on the plugin's tables too: the plugin's own delete keeps each stream's highest row.</summary>
    public void DeleteRun(RunInfo run) => Do($"deleting run '{run.RunId}'", db =>
    {
        using DataConnectionTransaction tx = db.BeginTransaction();
        string prefix = run.PersistenceIdPrefix;
        long first = db.GetTable<RunRow>().Where(r => r.RunNo == run.RunNo).Select(r => r.FirstOrdering).FirstOrDefault() ?? 0;
        db.GetTable<JournalKey>().Where(j => j.Ordering >= first && j.PersistenceId.StartsWith(prefix)).Delete();
        db.GetTable<SnapshotKey>().Where(s => s.PersistenceId.StartsWith(prefix)).Delete();
        db.GetTable<CheckpointRow>().Where(c => c.RunNo == run.RunNo).Delete();
        db.GetTable<RunRow>().Where(r => r.RunNo == run.RunNo).Delete();
        tx.Commit();
        return 0;
    });

    /// <summary>Records the event types writers use, so the database explains its own manifest numbers.</summary>
    public void RegisterManifests(IEnumerable<Codec.EventManifest> manifests) => Do("recording the event manifests", db =>
    {
        using DataConnectionTransaction tx = db.BeginTransaction();
        foreach (Codec.EventManifest m in manifests) db.InsertOrReplace(new ManifestRow { Manifest = m.Column, Name = m.Name, Version = m.Version });
        tx.Commit();
        return 0;
    });

    internal static JournalConflictException TakeOverRefused(RunInfo run, RunInfo? now) => new(now is null
        ? $"run '{run.RunId}' no longer exists"
        : now.Status != RunStatus.Running
            ? $"run '{run.RunId}' is {RunStatusText.Of(now.Status)}: there is nothing to resume"
            : $"run '{run.RunId}' was taken over by writer {now.WriterUuid} meanwhile; a second writer is refused");

    private JournalConflictException AlreadyExists(string runId, RunInfo existing) => new(
        $"run '{runId}' already exists in {backend.Uri} (writer {existing.WriterUuid}, status {RunStatusText.Of(existing.Status)}); a second writer is refused");

    private void Insert(DataConnection db, RunStart start)
    {
        using DataConnectionTransaction tx = db.BeginTransaction();
        if (Find(db, start.RunId) is { } existing) throw AlreadyExists(start.RunId, existing);
        db.GetTable<RunRow>().Insert(() => new RunRow
        {
            RunId = start.RunId,
            Seed = unchecked((long)start.Seed),
            Config = start.ConfigJson,
            CodeVersion = start.CodeVersion,
            Status = RunStatusText.Of(RunStatus.Running),
            WriterUuid = start.WriterUuid,
            StartedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        });
        tx.Commit();
    }

    private RunInfo? Find(DataConnection db, string runId) =>
        db.GetTable<RunRow>().Where(r => r.RunId == runId).AsEnumerable().Select(ToInfo).FirstOrDefault();

    private RunInfo ToInfo(RunRow r)
    {
        if (!RunStatusText.TryParse(r.Status, out RunStatus status))
        {
            throw new JournalCorruptException($"{backend.Uri}: runs row {r.RunNo} has unknown status '{r.Status}'");
        }
        return new RunInfo(r.RunNo, r.RunId, unchecked((ulong)r.Seed), r.Config, r.CodeVersion, status, r.WriterUuid, r.StartedUnixMs, r.FinishedUnixMs, r.Summary);
    }

    private T Do<T>(string doing, Func<DataConnection, T> action)
    {
        try
        {
            using var db = new DataConnection(backend.Options);
            return action(db);
        }
        catch (Exception e) when (e is not JournalException)
        {
            throw SqlErrors.Translate(e, backend.Uri, doing);
        }
    }

    [Table("runs")]
    internal sealed class RunRow
    {
        [Column("run_no"), PrimaryKey, Identity] public int RunNo { get; set; }
        [Column("run_id")] public string RunId { get; set; } = "";
        [Column("seed")] public long Seed { get; set; }
        [Column("config")] public string Config { get; set; } = "";
        [Column("code_version")] public string CodeVersion { get; set; } = "";
        [Column("status")] public string Status { get; set; } = "";
        [Column("writer_uuid")] public string WriterUuid { get; set; } = "";
        [Column("started_unix_ms")] public long StartedUnixMs { get; set; }
        [Column("finished_unix_ms")] public long? FinishedUnixMs { get; set; }
        [Column("summary")] public string? Summary { get; set; }
        [Column("first_ordering")] public long? FirstOrdering { get; set; }
    }

    [Table("checkpoints")]
    internal sealed class CheckpointRow
    {
        [Column("run_no"), PrimaryKey(0)] public int RunNo { get; set; }
        [Column("event_count"), PrimaryKey(1)] public long EventCount { get; set; }
        [Column("timestamp")] public long Timestamp { get; set; }
        [Column("state_hash")] public long StateHash { get; set; }
    }

    [Table("manifests")]
    internal sealed class ManifestRow
    {
        [Column("manifest"), PrimaryKey] public int Manifest { get; set; }
        [Column("name")] public string Name { get; set; } = "";
        [Column("version")] public int Version { get; set; }
    }

    /// <summary>The plugin's <c>journal</c> table, by the columns the catalog reads.</summary>
    [Table("journal")]
    internal sealed class JournalKey
    {
        [Column("ordering")] public long Ordering { get; set; }
        [Column("persistence_id")] public string PersistenceId { get; set; } = "";
        [Column("sequence_number")] public long SequenceNumber { get; set; }
    }

    [Table("snapshot")]
    internal sealed class SnapshotKey
    {
        [Column("persistence_id")] public string PersistenceId { get; set; } = "";
    }
}
