using Twin.Persistence.Codec;

namespace Twin.Persistence.Memory;

/// <summary>
/// A journal that lives in this process only (<c>memory:</c>). Same contract as the SQL backends,
/// including row checks, unique (persistence_id, sequence_number) and run claims, so it can stand
/// in for them in tests and in benchmarks of the simulation itself.
/// </summary>
public sealed class MemoryJournal : IJournal
{
    internal sealed class StoredRow
    {
        public long Ordering;
        public required string PersistenceId;
        public long SequenceNr;
        public int Manifest;
        public long TimestampNs;
        public required byte[] Stored;
        public bool IsDeleted;
    }

    private readonly object _gate = new();
    private readonly List<StoredRow> _rows = [];
    private readonly Dictionary<string, List<StoredRow>> _byPid = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _highest = new(StringComparer.Ordinal);
    private readonly List<RunInfo> _runs = [];
    private readonly Dictionary<int, List<Checkpoint>> _checkpoints = [];
    private readonly List<SnapshotRecord> _snapshots = [];

    public string Uri => "memory:";

    /// <summary>Rows stored so far, for tests and benchmarks.</summary>
    public int RowCount
    {
        get { lock (_gate) return _rows.Count; }
    }

    public IJournalWriter StartRun(RunStart start)
    {
        lock (_gate)
        {
            RunInfo? existing = _runs.Find(r => r.RunId == start.RunId);
            if (existing is not null)
            {
                throw new JournalConflictException($"run '{start.RunId}' already exists in {Uri} (writer {existing.WriterUuid}); a second writer is refused");
            }
            var run = new RunInfo(_runs.Count + 1, start.RunId, start.Seed, start.ConfigJson, start.CodeVersion,
                RunStatus.Running, start.WriterUuid, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, null);
            _runs.Add(run);
            _checkpoints[run.RunNo] = [];
            return new Writer(this, run);
        }
    }

    IJournalWriter IJournal.OpenUnclaimedWriter(RunInfo run) => new Writer(this, run);

    public RunInfo? FindRun(string runId)
    {
        lock (_gate) return _runs.Find(r => r.RunId == runId);
    }

    public IReadOnlyList<RunInfo> ListRuns()
    {
        lock (_gate) return [.. _runs];
    }

    public long ReadHighestSequenceNr(string persistenceId)
    {
        lock (_gate) return _highest.GetValueOrDefault(persistenceId);
    }

    public IJournalCursor ReadMessages(string persistenceId, long fromSequenceNr, long toSequenceNr, long max)
    {
        lock (_gate)
        {
            var selected = new List<StoredRow>();
            if (_byPid.TryGetValue(persistenceId, out List<StoredRow>? rows))
            {
                foreach (StoredRow r in rows)
                {
                    if (selected.Count >= max) break;
                    if (!r.IsDeleted && r.SequenceNr >= fromSequenceNr && r.SequenceNr <= toSequenceNr) selected.Add(r);
                }
            }
            return new Cursor(selected);
        }
    }

    public IJournalCursor ReadRun(RunInfo run)
    {
        string prefix = run.PersistenceIdPrefix;
        lock (_gate)
        {
            return new Cursor(_rows.FindAll(r => !r.IsDeleted && r.PersistenceId.StartsWith(prefix, StringComparison.Ordinal)));
        }
    }

    public void DeleteMessagesTo(string persistenceId, long toSequenceNr)
    {
        lock (_gate)
        {
            if (!_byPid.TryGetValue(persistenceId, out List<StoredRow>? rows)) return;
            foreach (StoredRow r in rows)
            {
                if (r.SequenceNr <= toSequenceNr) r.IsDeleted = true;
            }
        }
    }

    public void SaveSnapshot(SnapshotRecord snapshot)
    {
        lock (_gate)
        {
            _snapshots.RemoveAll(s => s.PersistenceId == snapshot.PersistenceId && s.SequenceNr == snapshot.SequenceNr);
            _snapshots.Add(snapshot with { Payload = [.. snapshot.Payload] });
        }
    }

    public SnapshotRecord? LoadSnapshot(string persistenceId, long maxSequenceNr)
    {
        lock (_gate)
        {
            SnapshotRecord? best = null;
            foreach (SnapshotRecord s in _snapshots)
            {
                if (s.PersistenceId == persistenceId && s.SequenceNr <= maxSequenceNr && (best is null || s.SequenceNr > best.SequenceNr)) best = s;
            }
            return best;
        }
    }

    public IReadOnlyList<Checkpoint> ReadCheckpoints(RunInfo run)
    {
        lock (_gate) return _checkpoints.TryGetValue(run.RunNo, out List<Checkpoint>? c) ? [.. c] : [];
    }

    public void Dispose()
    {
    }

    private void Commit(RunInfo run, string[] streams, RowBatch batch)
    {
        lock (_gate)
        {
            // Check the whole batch first: a batch is all-or-nothing, like a SQL transaction.
            for (int i = 0; i < batch.Count; i++)
            {
                ref RowBatch.Row row = ref batch.Rows[i];
                if (row.IsCheckpoint) continue;
                string pid = streams[row.Stream];
                if (_byPid.TryGetValue(pid, out List<StoredRow>? rows) && rows.Count > 0 && rows[^1].SequenceNr >= row.SequenceNr)
                {
                    throw new JournalConflictException($"{pid} sequence {row.SequenceNr} is already written: another writer holds this stream");
                }
            }
            for (int i = 0; i < batch.Count; i++)
            {
                ref RowBatch.Row row = ref batch.Rows[i];
                if (row.IsCheckpoint)
                {
                    _checkpoints[run.RunNo].Add(new Checkpoint(row.SequenceNr, row.TimestampNs, row.StateHash));
                    continue;
                }
                string pid = streams[row.Stream];
                var stored = new StoredRow
                {
                    Ordering = _rows.Count + 1,
                    PersistenceId = pid,
                    SequenceNr = row.SequenceNr,
                    Manifest = row.Manifest,
                    TimestampNs = row.TimestampNs,
                    Stored = batch.PayloadOf(row).ToArray(),
                };
                _rows.Add(stored);
                if (!_byPid.TryGetValue(pid, out List<StoredRow>? list)) _byPid[pid] = list = [];
                list.Add(stored);
                _highest[pid] = Math.Max(_highest.GetValueOrDefault(pid), row.SequenceNr);
            }
        }
    }

    private void Finish(RunInfo run, RunStatus status, string summaryJson)
    {
        lock (_gate)
        {
            int i = _runs.FindIndex(r => r.RunNo == run.RunNo);
            _runs[i] = _runs[i] with { Status = status, SummaryJson = summaryJson, FinishedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        }
    }

    private sealed class Writer(MemoryJournal journal, RunInfo run) : GroupCommitWriter(run, batchRows: 4096, background: false)
    {
        protected override long ReadHighestSequenceNr(string persistenceId) => journal.ReadHighestSequenceNr(persistenceId);

        protected override void CommitBatches(IReadOnlyList<RowBatch> batches)
        {
            foreach (RowBatch b in batches) journal.Commit(Run, Streams, b);
        }

        protected override void MarkRunFinished(RunStatus status, string summaryJson) => journal.Finish(Run, status, summaryJson);
    }

    private sealed class Cursor(List<StoredRow> rows) : IJournalCursor
    {
        private int _index = -1;
        private ReadOnlyMemory<byte> _payload;

        public JournalEntry Current
        {
            get
            {
                StoredRow r = rows[_index];
                return new JournalEntry(r.Ordering, r.PersistenceId, r.SequenceNr, r.Manifest, r.TimestampNs, _payload.Span);
            }
        }

        public bool MoveNext()
        {
            if (++_index >= rows.Count) return false;
            StoredRow r = rows[_index];
            try
            {
                _payload = r.Stored.AsMemory(0, RowCheck.Open(r.Stored, r.Manifest, r.SequenceNr).Length);
            }
            catch (CorruptPayloadException e)
            {
                throw new JournalCorruptException($"memory journal row {r.Ordering} ({r.PersistenceId} #{r.SequenceNr}): {e.Message}", e);
            }
            return true;
        }

        public void Dispose()
        {
        }
    }
}
