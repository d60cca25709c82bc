using Twin.Kernel.Events;
using Twin.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Simulation.Replay;

/// <summary>
/// Holds a re-executed run against a journaled one: each appended event is checked against the
/// next stored row (stream, sequence number, type, virtual time, payload) and each checkpoint
/// against the recorded one. Stored rows are never written again. Two uses:
/// <list type="bullet">
/// <item><c>twin replay --reexecute</c> (no <c>continueInto</c>): nothing is written; the first
/// difference is kept in words a person can act on, and the run stops there.</item>
/// <item><c>--resume</c> of a run a killed writer left half-written (<c>continueInto</c>, the run's
/// new writer): from the first event past the stored prefix on, rows go to that writer, which
/// appends after them. A difference inside the prefix means the build or config is not the one
/// that wrote the run: it is raised as a <see cref="JournalResumeException"/>, nothing written.</item>
/// </list>
/// </summary>
internal sealed class ComparingWriter : IJournalWriter
{
    private readonly IJournal _journal;
    private readonly IJournalCursor _cursor;
    private readonly IReadOnlyList<Checkpoint> _checkpoints;
    private readonly List<string> _streams = [];
    private readonly string _prefix;
    private readonly bool _journalIsPrefix;
    private readonly IJournalWriter? _continueInto;
    private int _nextCheckpoint;
    private bool _peeked;
    private bool _hasRow;
    private bool _innerAtomic;
    private bool _atomicInPrefix;

    /// <param name="journalIsPrefix">The run never finished (crash, kill): its journal may end anywhere, even inside one handler's events.</param>
    /// <param name="continueInto">Resume: the writer that takes the events past the stored ones.</param>
    public ComparingWriter(IJournal journal, RunInfo run, bool journalIsPrefix, IJournalWriter? continueInto = null)
    {
        _journalIsPrefix = journalIsPrefix;
        _journal = journal;
        _continueInto = continueInto;
        Run = continueInto?.Run ?? run;
        _prefix = run.PersistenceIdPrefix;
        _cursor = journal.ReadRun(run);
        _checkpoints = journal.ReadCheckpoints(run);
    }

    public RunInfo Run { get; }

    public string? Difference { get; private set; }

    /// <summary>Every journaled event has been matched.</summary>
    public bool Exhausted { get; private set; }

    /// <summary>Events matched with stored rows: on a resume, the stored prefix the run went on from.</summary>
    public long Compared { get; private set; }

    public long CommittedEvents => Compared + (_continueInto?.CommittedEvents ?? 0);

    public long AppendedEvents => Compared + (_continueInto?.AppendedEvents ?? 0);

    public int RegisterStream(string stream)
    {
        int i = _streams.IndexOf(stream);
        if (i < 0)
        {
            _streams.Add(stream);
            i = _streams.Count - 1;
        }
        if (_continueInto is not null)
        {
            int handle = _continueInto.RegisterStream(stream);
            Invariant(handle == i, "the comparer and the writer it continues into number streams alike");
        }
        return i;
    }

    public void Append(int stream, long sequenceNr, int manifest, long timestampNs, ReadOnlySpan<byte> payload)
    {
        if (Difference is not null) return;
        if (_continueInto is not null && !_atomicInPrefix && !HasStoredRow())
        {
            _continueInto.Append(stream, sequenceNr, manifest, timestampNs, payload);
            return;
        }
        long index = Compared + 1;
        string name = _streams[stream];
        if (!HasStoredRow())
        {
            Exhausted = true;
            if (_continueInto is not null) Differ(index, $"an atomic group of events straddles the end of the {Compared} stored");
            else if (!_journalIsPrefix) Difference = $"re-execution produced event {index} ({name} #{sequenceNr}, {Describe(manifest)}) after the journal's last event {Compared}";
            return;
        }
        _peeked = false;
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
            Differ(index, $"event {index} ({_journal.Uri} row {e.Ordering}) differs: {what}");
            return;
        }
        Compared = index;
    }

    public void BeginAtomic(int rowCount)
    {
        if (_continueInto is null) return;
        // A group is stored whole or not at all (one transaction): it is compared, or it is new.
        if (HasStoredRow())
        {
            _atomicInPrefix = true;
            return;
        }
        _continueInto.BeginAtomic(rowCount);
        _innerAtomic = true;
    }

    public void EndAtomic()
    {
        _atomicInPrefix = false;
        if (!_innerAtomic) return;
        _continueInto!.EndAtomic();
        _innerAtomic = false;
    }

    public void AppendCheckpoint(Checkpoint checkpoint)
    {
        if (Difference is not null) return;
        if (_continueInto is not null && checkpoint.EventCount > Compared)
        {
            _continueInto.AppendCheckpoint(checkpoint);
            return;
        }
        if (_nextCheckpoint >= _checkpoints.Count) return;
        Checkpoint recorded = _checkpoints[_nextCheckpoint];
        if (recorded.EventCount != checkpoint.EventCount) return; // the journal may lack the end checkpoint of a cut run
        _nextCheckpoint++;
        if (recorded.StateHash != checkpoint.StateHash)
        {
            Differ(checkpoint.EventCount, $"state hash after event {checkpoint.EventCount}: journal {recorded.StateHash:x16}, re-execution {checkpoint.StateHash:x16}");
        }
    }

    /// <summary>After the re-execution: a completed run must have no events left over.</summary>
    public void Finish(bool runCompleted)
    {
        if (Difference is not null || !runCompleted) return;
        if (!Exhausted && HasStoredRow())
        {
            JournalEntry e = _cursor.Current;
            Difference = $"the journal has event {Compared + 1} ({e.PersistenceId} #{e.SequenceNr}) that re-execution did not produce";
        }
    }

    public void Flush() => _continueInto?.Flush();

    public void Complete(RunStatus status, string summaryJson)
    {
        if (_continueInto is null) return;
        if (HasStoredRow()) Differ(Compared + 1, $"the run ended after {Compared} events, before the last of the journal's");
        _continueInto.Complete(status, summaryJson);
    }

    public void Dispose()
    {
        _cursor.Dispose();
        _continueInto?.Dispose();
    }

    /// <summary>Whether a stored row is left to compare with; it is then the cursor's current one.</summary>
    private bool HasStoredRow()
    {
        if (Exhausted) return false;
        if (!_peeked)
        {
            _hasRow = _cursor.MoveNext();
            _peeked = true;
        }
        return _hasRow;
    }

    /// <summary>A difference: kept for a re-execution, raised for a resume (which must not write on).</summary>
    private void Differ(long eventIndex, string what)
    {
        if (_continueInto is null)
        {
            Difference = what;
            return;
        }
        throw new JournalResumeException(
            $"resuming run '{Run.RunId}' at event {eventIndex}: {what}; this build or config is not the one that wrote the run, so it cannot be continued (nothing was written)");
    }

    private static void Invariant(bool condition, string what)
    {
        if (!condition) throw new InvalidOperationException($"comparing writer invariant violated: {what}");
    }

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
