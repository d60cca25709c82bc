using Twin.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Actors.Persistence;

/// <summary>
/// The journal side of an actor system: the writer events go to, taps that observe them, and
/// run checkpoints (the whole system's state hash every N events, committed with the events).
/// </summary>
public sealed class PersistenceExtension
{
    private readonly ActorSystem _system;
    private int _handlerDepth;
    private bool _checkpointDue;
    private long _lastCheckpointEvents;

    internal PersistenceExtension(ActorSystem system) => _system = system;

    public IJournal? Journal { get; private set; }

    public IJournalWriter? Writer { get; private set; }

    /// <summary>The run being written or replayed.</summary>
    public RunInfo? Run { get; private set; }

    /// <summary>Events persisted in this system so far.</summary>
    public long PersistedEvents { get; private set; }

    /// <summary>Checkpoint interval in events; 0 = none.</summary>
    public long CheckpointEveryEvents { get; private set; }

    public List<EventTap> Taps { get; } = [];

    public int CheckpointsWritten { get; private set; }

    /// <summary>
    /// Events go to <paramref name="writer"/>; a state-hash checkpoint every
    /// <paramref name="checkpointEveryEvents"/>. Actors recover from <paramref name="journal"/> when
    /// they start; null starts every actor empty (re-execution compares against a journal it must
    /// not recover from).
    /// </summary>
    public void Attach(IJournal? journal, IJournalWriter writer, long checkpointEveryEvents)
    {
        Journal = journal;
        Writer = writer;
        Run = writer.Run;
        CheckpointEveryEvents = checkpointEveryEvents;
    }

    /// <summary>Reads recovery data of <paramref name="run"/> without writing (replay).</summary>
    internal void AttachForReplay(IJournal journal, RunInfo run)
    {
        Journal = journal;
        Run = run;
    }

    /// <summary>
    /// The state hash of the system: every persistent actor that has persisted at least one
    /// event, in persistence-id order, so that a replay (which creates actors as their first
    /// event arrives) computes the same value as the run.
    /// </summary>
    public ulong ComputeStateHash()
    {
        // Persistent actors' cells in persistence-id order, kept between checkpoints: new cells are
        // inserted where they belong instead of sorting thousands of ids at every checkpoint. Cells,
        // not actor instances, since a restart puts a new instance in the same cell.
        for (; _hashedCells < _system.CellCount; _hashedCells++)
        {
            ActorCell cell = _system.CellAt(_hashedCells);
            if (cell.Actor is not PersistentActor) continue;
            int at = _byPersistenceId.BinarySearch(cell, ByPersistenceId);
            _byPersistenceId.Insert(at < 0 ? ~at : at, cell);
        }
        int dead = 0;
        var h = new StateHasher();
        foreach (ActorCell cell in _byPersistenceId)
        {
            if (!cell.IsAlive)
            {
                dead++;
                continue;
            }
            var a = (PersistentActor)cell.Actor;
            if (a.LastSequenceNr == 0) continue;
            h.Add(a.PersistenceId);
            h.Add(a.LastSequenceNr);
            a.HashState(ref h);
        }
        if (dead > _byPersistenceId.Count / 2) _byPersistenceId.RemoveAll(static c => !c.IsAlive);
        return h.Value;
    }

    private static readonly Comparer<ActorCell> ByPersistenceId = Comparer<ActorCell>.Create(static (a, b) =>
        string.CompareOrdinal(((PersistentActor)a.Actor).PersistenceId, ((PersistentActor)b.Actor).PersistenceId));

    private readonly List<ActorCell> _byPersistenceId = [];
    private int _hashedCells;

    internal void EnterHandler() => _handlerDepth++;

    internal void ExitHandler()
    {
        _handlerDepth--;
        if (_handlerDepth == 0 && _checkpointDue) WriteCheckpoint();
    }

    /// <summary>After an event is applied: feed the taps, count it, and mark a checkpoint due.</summary>
    internal void Published<TEvent>(PersistentActor actor, long sequenceNr, in TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>
    {
        long index = ++PersistedEvents;
        List<EventTap> taps = Taps;
        if (taps.Count > 0)
        {
            var meta = new EventMeta(actor.PersistenceId, sequenceNr, _system.NowNs, index);
            for (int i = 0; i < taps.Count; i++) taps[i].OnEvent(in meta, in evt);
        }
        if (CheckpointEveryEvents > 0 && index % CheckpointEveryEvents == 0)
        {
            _checkpointDue = true;
            if (_handlerDepth == 0) WriteCheckpoint();
        }
    }

    /// <summary>Records the run's state hash now, unless a checkpoint at this event count exists; also called at the end of a run.</summary>
    public void WriteCheckpoint()
    {
        if (CheckpointsWritten > 0 && _lastCheckpointEvents == PersistedEvents)
        {
            _checkpointDue = false;
            return;
        }
        _lastCheckpointEvents = PersistedEvents;
        _checkpointDue = false;
        CheckpointsWritten++;
        Writer?.AppendCheckpoint(new Checkpoint(PersistedEvents, _system.NowNs, ComputeStateHash()));
    }
}
