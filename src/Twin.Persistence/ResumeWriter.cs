namespace Twin.Persistence;

/// <summary>
/// Continues a run a killed writer left half-written. The simulation is run again from its seed
/// (it is deterministic); while it re-creates events the journal already holds, each is compared
/// with the stored row (stream, sequence number, type, time, payload) and each checkpoint's state
/// hash with the stored one, and nothing is written; from the first event past the committed
/// prefix on, rows go to <paramref name="inner"/>, which appends after them. A difference means
/// the code or the config is not the one that wrote the run: the resume stops with an error,
/// having written nothing.
/// </summary>
public sealed class ResumeWriter : IJournalWriter
{
    private readonly IJournalWriter _inner;
    private readonly IJournalCursor _stored;
    private readonly Dictionary<long, Checkpoint> _storedCheckpoints;
    private readonly List<string> _streamNames = [];
    private long _remaining;
    private long _verified;
    private bool _innerAtomic;

    public ResumeWriter(IJournalWriter inner, IJournal journal, RunInfo run)
    {
        _inner = inner;
        _stored = journal.ReadRun(run);
        _storedCheckpoints = journal.ReadCheckpoints(run).ToDictionary(c => c.EventCount);
        _remaining = CountRows(journal, run);
        Prefix = _remaining;
    }

    /// <summary>Events the journal held when the resume began.</summary>
    public long Prefix { get; }

    public RunInfo Run => _inner.Run;

    public long CommittedEvents => _verified + _inner.CommittedEvents;

    public long AppendedEvents => _verified + _inner.AppendedEvents;

    public int RegisterStream(string stream)
    {
        int handle = _inner.RegisterStream(stream);
        while (_streamNames.Count <= handle) _streamNames.Add("");
        _streamNames[handle] = Run.PersistenceIdOf(stream);
        return handle;
    }

    public void Append(int stream, long sequenceNr, int manifest, long timestampNs, ReadOnlySpan<byte> payload)
    {
        if (_remaining == 0)
        {
            _inner.Append(stream, sequenceNr, manifest, timestampNs, payload);
            return;
        }
        long index = _verified + 1;
        if (!_stored.MoveNext()) throw Differs(index, "the journal has fewer rows than it counted");
        JournalEntry row = _stored.Current;
        string pid = _streamNames[stream];
        if (row.PersistenceId != pid || row.SequenceNr != sequenceNr) throw Differs(index, $"the run makes {pid} #{sequenceNr}, the journal holds {row.PersistenceId} #{row.SequenceNr}");
        if (row.Manifest != manifest || row.TimestampNs != timestampNs || !row.Payload.SequenceEqual(payload))
        {
            throw Differs(index, $"{pid} #{sequenceNr} differs (type {manifest} at {timestampNs} ns; stored: type {row.Manifest} at {row.TimestampNs} ns)");
        }
        _verified = index;
        _remaining--;
    }

    public void BeginAtomic(int rowCount)
    {
        if (_remaining == 0)
        {
            _inner.BeginAtomic(rowCount);
            _innerAtomic = true;
        }
        else if (_remaining < rowCount) throw Differs(_verified + 1, $"an atomic group of {rowCount} rows straddles the end of the stored {Prefix}");
    }

    public void EndAtomic()
    {
        if (!_innerAtomic) return;
        _inner.EndAtomic();
        _innerAtomic = false;
    }

    public void AppendCheckpoint(Checkpoint checkpoint)
    {
        if (checkpoint.EventCount > Prefix)
        {
            _inner.AppendCheckpoint(checkpoint);
            return;
        }
        if (_storedCheckpoints.TryGetValue(checkpoint.EventCount, out Checkpoint stored) && stored.StateHash != checkpoint.StateHash)
        {
            throw Differs(checkpoint.EventCount, $"the state hash after {checkpoint.EventCount} events is {checkpoint.StateHash:x16}, the journal recorded {stored.StateHash:x16}");
        }
    }

    public void Flush() => _inner.Flush();

    public void Complete(RunStatus status, string summaryJson)
    {
        if (_remaining > 0) throw Differs(_verified + 1, $"the run ended after {_verified} events, before the {Prefix} the journal holds");
        _inner.Complete(status, summaryJson);
    }

    public void Dispose()
    {
        _stored.Dispose();
        _inner.Dispose();
    }

    private static long CountRows(IJournal journal, RunInfo run)
    {
        long n = 0;
        using IJournalCursor c = journal.ReadRun(run);
        while (c.MoveNext()) n++;
        return n;
    }

    private JournalResumeException Differs(long eventIndex, string what) =>
        new($"resuming run '{Run.RunId}': event {eventIndex} of the {Prefix} stored: {what}; this build or config is not the one that wrote the run, so it cannot be continued (nothing was written)");
}

/// <summary>A resume found the re-executed run different from the stored prefix.</summary>
public sealed class JournalResumeException(string message) : JournalException(message);
