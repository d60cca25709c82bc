using Twin.Actors.Persistence;
using Twin.Actors.Runtime;
using Twin.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Actors.Journal;

/// <summary>What the run's journal side knows of one of its persistent actors.</summary>
public interface IJournaledActor
{
    /// <summary>Run-relative stream name, the part of the persistence id after the run ("cpu-0").</summary>
    string Stream { get; }

    long LastSequenceNr { get; }

    /// <summary>Adds this actor's state, in a fixed order, to a run's state hash.</summary>
    void HashState(ref StateHasher hasher);
}

/// <summary>
/// The journal side of one run, shared by its in-loop journal and its persistent actors: where
/// events are stored (a storage writer outside the loop, or nowhere for a soak), the taps that
/// observe them in run order, the run's event count and its state-hash checkpoints. Persistence
/// ids are <c>RUN/stream</c>.
/// </summary>
public sealed class RunPersistence
{
    private readonly RunLoop _loop;
    private readonly List<IJournaledActor> _byStream = [];
    private long _lastCheckpointEvents = -1;

    internal RunPersistence(RunLoop loop) => _loop = loop;

    public string RunId { get; private set; } = "run";

    /// <summary>Where the in-loop journal hands events; null keeps nothing (a soak).</summary>
    public IJournalWriter? Writer { get; private set; }

    /// <summary>What actors recover from when they start; null starts every actor empty.</summary>
    public IJournal? RecoverFrom { get; private set; }

    /// <summary>Checkpoint interval in events; 0 = none.</summary>
    public long CheckpointEveryEvents { get; private set; }

    /// <summary>Observers of every event, in run order. A tap only observes.</summary>
    public List<EventTap> Taps { get; } = [];

    /// <summary>Events applied in this run so far (live or replayed): the next event's index minus one.</summary>
    public long PersistedEvents { get; private set; }

    public int CheckpointsWritten { get; private set; }

    /// <summary>A whole-run replay is feeding stored events through Akka's recovery.</summary>
    public ReplayFeed? Feed { get; private set; }

    /// <summary>Names the run and its storage. Call before the first persistent actor starts.</summary>
    public void Attach(string runId, IJournalWriter? writer, IJournal? recoverFrom, long checkpointEveryEvents)
    {
        RunId = runId;
        Writer = writer;
        RecoverFrom = recoverFrom;
        CheckpointEveryEvents = checkpointEveryEvents;
    }

    /// <summary>Puts the run in replay mode: actors' recoveries wait for <paramref name="feed"/> to hand them stored events.</summary>
    public void AttachReplay(string runId, ReplayFeed feed)
    {
        RunId = runId;
        Feed = feed;
    }

    public string PersistenceIdOf(string stream) => $"{RunId}/{stream}";

    /// <summary>The stream of a persistence id of this run.</summary>
    public string StreamOf(string persistenceId)
    {
        Invariant.Assert(persistenceId.Length > RunId.Length && persistenceId.StartsWith(RunId, StringComparison.Ordinal) && persistenceId[RunId.Length] == '/',
            "persistence ids of a run start with the run");
        return persistenceId[(RunId.Length + 1)..];
    }

    /// <summary>
    /// The run's state hash: every registered actor that has applied an event, in stream order,
    /// with its sequence number and state. A replay, which creates actors as their first event
    /// arrives, computes the same value as the run.
    /// </summary>
    public ulong ComputeStateHash()
    {
        var h = new StateHasher();
        foreach (IJournaledActor a in _byStream)
        {
            if (a.LastSequenceNr == 0) continue;
            h.Add(a.Stream);
            h.Add(a.LastSequenceNr);
            a.HashState(ref h);
        }
        return h.Value;
    }

    /// <summary>Records the run's state hash now (also at the end of a run), unless a checkpoint at this event count exists.</summary>
    public void WriteCheckpoint()
    {
        if (_lastCheckpointEvents == PersistedEvents) return;
        _lastCheckpointEvents = PersistedEvents;
        CheckpointsWritten++;
        Writer?.AppendCheckpoint(new Checkpoint(PersistedEvents, _loop.NowNs, ComputeStateHash()));
    }

    internal void Register(IJournaledActor actor)
    {
        int at = _byStream.BinarySearch(actor, ByStream);
        Invariant.Assert(at < 0, $"one live actor per stream ({actor.Stream})");
        _byStream.Insert(~at, actor);
    }

    internal void Unregister(IJournaledActor actor)
    {
        int at = _byStream.BinarySearch(actor, ByStream);
        if (at >= 0 && ReferenceEquals(_byStream[at], actor)) _byStream.RemoveAt(at);
    }

    /// <summary>After an event is applied: number it, show it to the taps, and checkpoint when one is due.</summary>
    internal void Applied<TEvent>(IJournaledActor actor, in TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>
    {
        long index = ++PersistedEvents;
        List<EventTap> taps = Taps;
        if (taps.Count > 0)
        {
            var meta = new EventMeta(actor.Stream, actor.LastSequenceNr, _loop.NowNs, index);
            for (int i = 0; i < taps.Count; i++) taps[i].OnEvent(in meta, in evt);
        }
        // A replay verifies the checkpoints the run wrote; it writes none.
        if (Feed is null && CheckpointEveryEvents > 0 && index % CheckpointEveryEvents == 0) WriteCheckpoint();
    }

    private static readonly Comparer<IJournaledActor> ByStream = Comparer<IJournaledActor>.Create(static (a, b) => string.CompareOrdinal(a.Stream, b.Stream));
}
