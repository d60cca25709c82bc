using System.Diagnostics;
using Twin.Persistence.Codec;

namespace Twin.Persistence;

/// <summary>
/// The one writer of a run, shared by every backend. The simulation thread appends rows into a
/// batch; full batches (never split inside an atomic section) go to a committing thread that
/// takes everything pending and commits it in one transaction: group commit. The simulation
/// never waits on the disk except in <see cref="Flush"/> or when every batch is in flight.
/// A commit failure is kept and rethrown to the simulation thread at its next call, so nothing is
/// reported committed that is not.
/// </summary>
internal abstract class GroupCommitWriter : IJournalWriter
{
    private const int BatchCount = 4;

    private readonly object _gate = new();
    private readonly Queue<RowBatch> _pending = new();
    private readonly Stack<RowBatch> _free = new();
    private readonly Thread? _committer;
    private RowBatch _current;
    private string[] _streams = [];
    private long[] _lastSequenceNr = [];
    private int _atomicDepth;
    private bool _inFlight;
    private bool _stopping;
    private Exception? _failure;
    private long _committedEvents;
    private long _appendedEvents;
    private bool _completed;

    /// <param name="batchRows">Rows per batch; a batch is handed off when full.</param>
    /// <param name="background">Commit on a dedicated thread (SQL backends) or inline (memory).</param>
    protected GroupCommitWriter(RunInfo run, int batchRows, bool background)
    {
        Run = run;
        for (int i = 0; i < BatchCount; i++) _free.Push(new RowBatch(batchRows));
        _current = _free.Pop();
        if (background)
        {
            _committer = new Thread(CommitLoop) { IsBackground = true, Name = $"twin-journal-{run.RunNo}" };
            _committer.Start();
        }
    }

    public RunInfo Run { get; }

    public long CommittedEvents => Interlocked.Read(ref _committedEvents);

    public long AppendedEvents => _appendedEvents;

    /// <summary>Full persistence ids by stream handle; read by the committing thread.</summary>
    protected string[] Streams => Volatile.Read(ref _streams);

    public int RegisterStream(string stream)
    {
        string pid = Run.PersistenceIdOf(stream);
        lock (_gate)
        {
            int existing = Array.IndexOf(_streams, pid);
            if (existing >= 0) return existing;
            long highest = ReadHighestSequenceNr(pid);
            string[] streams = [.. _streams, pid];
            long[] seqs = [.. _lastSequenceNr, highest];
            _lastSequenceNr = seqs;
            Volatile.Write(ref _streams, streams);
            return streams.Length - 1;
        }
    }

    public void Append(int stream, long sequenceNr, int manifest, long timestampNs, ReadOnlySpan<byte> payload)
    {
        ThrowIfFailed();
        Debug.Assert(!_completed, "append after Complete");
        if (sequenceNr != _lastSequenceNr[stream] + 1)
        {
            throw new InvalidOperationException($"{_streams[stream]}: sequence number {sequenceNr} after {_lastSequenceNr[stream]}");
        }
        if (payload.Length > PayloadLimits.MaxPayloadBytes)
        {
            throw new InvalidOperationException($"payload of {payload.Length} bytes exceeds {PayloadLimits.MaxPayloadBytes}");
        }
        _lastSequenceNr[stream] = sequenceNr;
        RowBatch batch = _current;
        if (batch.IsFull) throw new InvalidOperationException($"more rows appended inside an atomic group than declared");
        ref RowBatch.Row row = ref batch.Rows[batch.Count++];
        row.Stream = stream;
        row.SequenceNr = sequenceNr;
        row.Manifest = manifest;
        row.TimestampNs = timestampNs;
        row.Offset = batch.BytesUsed;
        row.IsCheckpoint = false;
        Span<byte> target = batch.Bytes.AsSpan(batch.BytesUsed);
        payload.CopyTo(target);
        row.Length = RowCheck.Seal(target, payload.Length, manifest, sequenceNr);
        batch.BytesUsed += row.Length;
        batch.EventCount++;
        _appendedEvents++;
        // An atomic group that fills the batch exactly is handed off whole, at EndAtomic.
        if (batch.IsFull && _atomicDepth == 0) HandOffCurrent();
    }

    public void AppendCheckpoint(Checkpoint checkpoint)
    {
        ThrowIfFailed();
        RowBatch batch = _current;
        ref RowBatch.Row row = ref batch.Rows[batch.Count++];
        row.IsCheckpoint = true;
        row.SequenceNr = checkpoint.EventCount;
        row.TimestampNs = checkpoint.TimestampNs;
        row.StateHash = checkpoint.StateHash;
        row.Length = 0;
        // A checkpoint ends a commit group: it reaches the database with the events it covers
        // instead of waiting for the batch to fill. The simulation does not wait for it.
        if (_atomicDepth == 0) HandOffCurrent();
    }

    public void BeginAtomic(int rowCount)
    {
        if (rowCount > _current.Rows.Length)
        {
            throw new NotSupportedException($"an atomic write of {rowCount} rows exceeds a batch of {_current.Rows.Length}");
        }
        if (_atomicDepth == 0 && _current.Rows.Length - _current.Count < rowCount) HandOffCurrent();
        _atomicDepth++;
    }

    public void EndAtomic()
    {
        if (_atomicDepth == 0) throw new InvalidOperationException("EndAtomic without BeginAtomic");
        _atomicDepth--;
        if (_atomicDepth == 0 && _current.IsFull) HandOffCurrent();
    }

    public void Flush()
    {
        if (_atomicDepth != 0) throw new InvalidOperationException("Flush inside an atomic section");
        if (_current.Count > 0) HandOffCurrent();
        if (_committer is null)
        {
            ThrowIfFailed();
            return;
        }
        lock (_gate)
        {
            while ((_pending.Count > 0 || _inFlight) && _failure is null) Monitor.Wait(_gate);
        }
        ThrowIfFailed();
    }

    public void Complete(RunStatus status, string summaryJson)
    {
        Flush();
        _completed = true;
        StopCommitter();
        MarkRunFinished(status, summaryJson);
    }

    public void Dispose()
    {
        StopCommitter();
        DisposeStorage();
        GC.SuppressFinalize(this);
    }

    /// <summary>Highest stored sequence number of a full persistence id, so a writer continues a stream.</summary>
    protected abstract long ReadHighestSequenceNr(string persistenceId);

    /// <summary>Commits the batches in one transaction, in order. Throws on failure (nothing committed).</summary>
    protected abstract void CommitBatches(IReadOnlyList<RowBatch> batches);

    protected abstract void MarkRunFinished(RunStatus status, string summaryJson);

    protected virtual void DisposeStorage()
    {
    }

    private void HandOffCurrent()
    {
        // A batch is never split inside an atomic group: BeginAtomic made room for all of it.
        Invariant(_atomicDepth == 0, "an atomic group overflowed its batch");
        RowBatch full = _current;
        if (_committer is null)
        {
            CommitInline(full);
            return;
        }
        lock (_gate)
        {
            while (_free.Count == 0 && _failure is null) Monitor.Wait(_gate);
            ThrowIfFailedLocked();
            _pending.Enqueue(full);
            _current = _free.Pop();
            Monitor.PulseAll(_gate);
        }
    }

    private void CommitInline(RowBatch batch)
    {
        try
        {
            CommitBatches([batch]);
            _committedEvents += batch.EventCount;
        }
        catch (Exception e)
        {
            _failure = e;
            throw Wrap(e);
        }
        finally
        {
            batch.Clear();
        }
    }

    private void CommitLoop()
    {
        var taken = new List<RowBatch>(BatchCount);
        while (true)
        {
            lock (_gate)
            {
                while (_pending.Count == 0 && !_stopping) Monitor.Wait(_gate);
                if (_pending.Count == 0) return;
                while (_pending.Count > 0) taken.Add(_pending.Dequeue());
                _inFlight = true;
            }
            Exception? failure = null;
            try
            {
                CommitBatches(taken);
            }
            catch (Exception e)
            {
                failure = e;
            }
            lock (_gate)
            {
                _inFlight = false;
                if (failure is null)
                {
                    long events = 0;
                    foreach (RowBatch b in taken) events += b.EventCount;
                    Interlocked.Add(ref _committedEvents, events);
                }
                else
                {
                    _failure ??= failure;
                }
                foreach (RowBatch b in taken)
                {
                    b.Clear();
                    _free.Push(b);
                }
                taken.Clear();
                Monitor.PulseAll(_gate);
                if (failure is not null) return;
            }
        }
    }

    private void StopCommitter()
    {
        if (_committer is null) return;
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        _committer.Join();
    }

    private void ThrowIfFailed()
    {
        Exception? f = Volatile.Read(ref _failure);
        if (f is not null) throw Wrap(f);
    }

    private void ThrowIfFailedLocked()
    {
        if (_failure is not null) throw Wrap(_failure);
    }

    private static void Invariant(bool condition, string what)
    {
        if (!condition) throw new InvalidOperationException($"journal writer invariant violated: {what}");
    }

    private static JournalException Wrap(Exception e) =>
        e as JournalException ?? new JournalStorageException($"journal commit failed: {e.Message}", e);
}
