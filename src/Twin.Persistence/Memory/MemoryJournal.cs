using Twin.Persistence.Codec;

namespace Twin.Persistence.Memory;

/// <summary>
/// A journal that lives in this process only (<c>memory:</c>). Same contract as the SQL backends,
/// including row checks, unique (persistence_id, sequence_number) and run claims, so it can stand
/// in for them in tests and in benchmarks of the simulation itself.
/// </summary>
public sealed class MemoryJournal : IJournal
{
    /// <summary>
    /// A row: metadata in a struct array, payload in the arena. Two allocations per event (a row
    /// object and its byte[]) made the journal the simulation's bottleneck, since every row lives
    /// to the end of the run and each survivor is copied through the GC generations.
    /// </summary>
    private struct StoredRow
    {
        public long Ordering;
        public int Pid;
        public long SequenceNr;
        public int Manifest;
        public long TimestampNs;
        public int Chunk;
        public int Offset;
        public int Length;
        public bool IsDeleted;
    }

    private const int ChunkBytes = 1 << 20;

    private readonly object _gate = new();
    private const int RowsPerBlock = 1 << 16;

    /// <summary>Rows in fixed blocks, so growing never copies (or holds twice) what is stored.</summary>
    private readonly List<StoredRow[]> _rowBlocks = [];
    private int _rowCount;
    private readonly List<string> _pidNames = [];
    private readonly Dictionary<string, int> _pidIndex = new(StringComparer.Ordinal);
    private readonly List<List<int>> _rowsOfPid = [];
    private readonly Dictionary<string, long> _highest = new(StringComparer.Ordinal);
    private readonly List<byte[]> _chunks = [];
    private int _chunkUsed = ChunkBytes;
    private readonly List<RunInfo> _runs = [];
    private int _lastRunNo;
    private readonly Dictionary<int, List<Checkpoint>> _checkpoints = [];

    public string Uri => "memory:";

    /// <summary>Rows stored so far, for tests and benchmarks.</summary>
    public int RowCount
    {
        get { lock (_gate) return _rowCount; }
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
            var run = new RunInfo(++_lastRunNo, start.RunId, start.Seed, start.ConfigJson, start.CodeVersion,
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
            var selected = new List<int>();
            if (_pidIndex.TryGetValue(persistenceId, out int pid))
            {
                foreach (int i in _rowsOfPid[pid])
                {
                    if (selected.Count >= max) break;
                    ref StoredRow r = ref Row(i);
                    if (!r.IsDeleted && r.SequenceNr >= fromSequenceNr && r.SequenceNr <= toSequenceNr) selected.Add(i);
                }
            }
            return new Cursor(this, selected);
        }
    }

    public IJournalCursor ReadRun(RunInfo run)
    {
        string prefix = run.PersistenceIdPrefix;
        lock (_gate)
        {
            var selected = new List<int>();
            for (int i = 0; i < _rowCount; i++)
            {
                if (!Row(i).IsDeleted && _pidNames[Row(i).Pid].StartsWith(prefix, StringComparison.Ordinal)) selected.Add(i);
            }
            return new Cursor(this, selected);
        }
    }

    public void DeleteRun(RunInfo run)
    {
        string prefix = run.PersistenceIdPrefix;
        lock (_gate)
        {
            for (int i = 0; i < _rowCount; i++)
            {
                if (_pidNames[Row(i).Pid].StartsWith(prefix, StringComparison.Ordinal)) Row(i).IsDeleted = true;
            }
            _checkpoints.Remove(run.RunNo);
            _runs.RemoveAll(r => r.RunNo == run.RunNo);
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
                if (_pidIndex.TryGetValue(pid, out int p) && _rowsOfPid[p].Count > 0 && Row(_rowsOfPid[p][^1]).SequenceNr >= row.SequenceNr)
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
                if (!_pidIndex.TryGetValue(pid, out int pidNo))
                {
                    _pidIndex[pid] = pidNo = _pidNames.Count;
                    _pidNames.Add(pid);
                    _rowsOfPid.Add([]);
                }
                ReadOnlySpan<byte> payload = batch.PayloadOf(row);
                (int chunk, int offset) = Append(payload);
                if (_rowCount == _rowBlocks.Count * RowsPerBlock) _rowBlocks.Add(new StoredRow[RowsPerBlock]);
                Row(_rowCount) = new StoredRow
                {
                    Ordering = _rowCount + 1,
                    Pid = pidNo,
                    SequenceNr = row.SequenceNr,
                    Manifest = row.Manifest,
                    TimestampNs = row.TimestampNs,
                    Chunk = chunk,
                    Offset = offset,
                    Length = payload.Length,
                };
                _rowsOfPid[pidNo].Add(_rowCount);
                _rowCount++;
                _highest[pid] = Math.Max(_highest.GetValueOrDefault(pid), row.SequenceNr);
            }
        }
    }

    private ref StoredRow Row(int i) => ref _rowBlocks[i >> 16][i & (RowsPerBlock - 1)];

    /// <summary>Copies a payload into the arena; a payload larger than a chunk gets a chunk of its own.</summary>
    private (int Chunk, int Offset) Append(ReadOnlySpan<byte> payload)
    {
        if (_chunkUsed + payload.Length > ChunkBytes)
        {
            _chunks.Add(new byte[Math.Max(ChunkBytes, payload.Length)]);
            _chunkUsed = 0;
        }
        int chunk = _chunks.Count - 1, offset = _chunkUsed;
        payload.CopyTo(_chunks[chunk].AsSpan(offset));
        _chunkUsed += payload.Length;
        return (chunk, offset);
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

    private sealed class Cursor(MemoryJournal journal, List<int> rows) : IJournalCursor
    {
        private int _index = -1;
        private ReadOnlyMemory<byte> _payload;

        public JournalEntry Current
        {
            get
            {
                StoredRow r = journal.Row(rows[_index]);
                return new JournalEntry(r.Ordering, journal._pidNames[r.Pid], r.SequenceNr, r.Manifest, r.TimestampNs, _payload.Span);
            }
        }

        public bool MoveNext()
        {
            if (++_index >= rows.Count) return false;
            StoredRow r = journal.Row(rows[_index]);
            ReadOnlyMemory<byte> stored = journal._chunks[r.Chunk].AsMemory(r.Offset, r.Length);
            try
            {
                _payload = stored[..RowCheck.Open(stored.Span, r.Manifest, r.SequenceNr).Length];
            }
            catch (CorruptPayloadException e)
            {
                throw new JournalCorruptException($"memory journal row {r.Ordering} ({journal._pidNames[r.Pid]} #{r.SequenceNr}): {e.Message}", e);
            }
            return true;
        }

        public void Dispose()
        {
        }
    }
}
