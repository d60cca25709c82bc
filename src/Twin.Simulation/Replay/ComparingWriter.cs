using Twin.Kernel.Events;
using Twin.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Simulation.Replay;

/// <summary>
/// A journal writer that stores nothing: it checks each appended event against the next row of
/// a journaled run, and each checkpoint against the recorded one, and remembers the first
/// difference in words a person can act on.
/// </summary>
internal sealed class ComparingWriter : IJournalWriter
{
    private readonly IJournal _journal;
    private readonly IJournalCursor _cursor;
    private readonly IReadOnlyList<Checkpoint> _checkpoints;
    private readonly List<string> _streams = [];
    private readonly string _prefix;
    private readonly bool _journalIsPrefix;
    private int _nextCheckpoint;

    /// <param name="journalIsPrefix">The run never finished (crash, kill): its journal may end anywhere, even inside one handler's events.</param>
    public ComparingWriter(IJournal journal, RunInfo run, bool journalIsPrefix)
    {
        _journalIsPrefix = journalIsPrefix;
        _journal = journal;
        Run = run;
        _prefix = run.PersistenceIdPrefix;
        _cursor = journal.ReadRun(run);
        _checkpoints = journal.ReadCheckpoints(run);
    }

    public RunInfo Run { get; }

    public string? Difference { get; private set; }

    /// <summary>Every journaled event has been matched.</summary>
    public bool Exhausted { get; private set; }

    public long Compared { get; private set; }

    public long CommittedEvents => Compared;

    public long AppendedEvents => Compared;

    public int RegisterStream(string stream)
    {
        int i = _streams.IndexOf(stream);
        if (i >= 0) return i;
        _streams.Add(stream);
        return _streams.Count - 1;
    }

    public void Append(int stream, long sequenceNr, int manifest, long timestampNs, ReadOnlySpan<byte> payload)
    {
        if (Difference is not null) return;
        long index = Compared + 1;
        string name = _streams[stream];
        if (Exhausted || !_cursor.MoveNext())
        {
            Exhausted = true;
            if (_journalIsPrefix) return;
            Difference = $"re-execution produced event {index} ({name} #{sequenceNr}, {Describe(manifest)}) after the journal's last event {Compared}";
            return;
        }
        JournalEntry e = _cursor.Current;
        string stored = e.PersistenceId[_prefix.Length..];
        string? what =
            stored != name || e.SequenceNr != sequenceNr ? $"journal has {stored} #{e.SequenceNr}, re-execution {name} #{sequenceNr}"
            : e.Manifest != manifest ? $"journal has {Describe(e.Manifest)}, re-execution {Describe(manifest)}"
            : e.TimestampNs != timestampNs ? $"journal has it at {e.TimestampNs} ns, re-execution at {timestampNs} ns"
            : !e.Payload.SequenceEqual(payload) ? $"{Describe(manifest)} payloads differ (journal {Convert.ToHexString(e.Payload)}, re-execution {Convert.ToHexString(payload)})"
            : null;
        if (what is not null)
        {
            Difference = $"event {index} ({_journal.Uri} row {e.Ordering}) differs: {what}";
            return;
        }
        Compared = index;
    }

    public void AppendCheckpoint(Checkpoint checkpoint)
    {
        if (Difference is not null || _nextCheckpoint >= _checkpoints.Count) return;
        Checkpoint recorded = _checkpoints[_nextCheckpoint];
        if (recorded.EventCount != checkpoint.EventCount) return; // the journal may lack the end checkpoint of a cut run
        _nextCheckpoint++;
        if (recorded.StateHash != checkpoint.StateHash)
        {
            Difference = $"state hash after event {checkpoint.EventCount}: journal {recorded.StateHash:x16}, re-execution {checkpoint.StateHash:x16}";
        }
    }

    /// <summary>After the re-execution: a completed run must have no events left over.</summary>
    public void Finish(bool runCompleted)
    {
        if (Difference is not null || !runCompleted) return;
        if (!Exhausted && _cursor.MoveNext())
        {
            JournalEntry e = _cursor.Current;
            Difference = $"the journal has event {Compared + 1} ({e.PersistenceId} #{e.SequenceNr}) that re-execution did not produce";
        }
    }

    public void BeginAtomic(int rowCount)
    {
    }

    public void EndAtomic()
    {
    }

    public void Flush()
    {
    }

    public void Complete(RunStatus status, string summaryJson)
    {
    }

    public void Dispose() => _cursor.Dispose();

    private static string Describe(int manifest)
    {
        ushort code = EventManifest.CodeOf(manifest);
        foreach (EventManifest m in EventCatalog.All)
        {
            if (m.Code == code) return EventManifest.VersionOf(manifest) == m.Version ? m.Name : $"{m.Name} v{EventManifest.VersionOf(manifest)}";
        }
        return $"manifest {manifest}";
    }
}
