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

    /// <summary>This stream's events journaled so far: the sequence number of its last one.</summary>
    long SequenceNr { get; }

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
    private long _outstanding;
    private bool _checkpointDue;

    internal RunPersistence(RunLoop loop) => _loop = loop;

    public string RunId { get; private set; } = "run";

    /// <summary>Where the in-loop journal hands events; null keeps nothing (a soak).</summary>
    public IJournalWriter? Writer { get; private set; }

    /// <summary>What actors recover from when they start; null starts every actor empty.</summary>
    public IJournal? RecoverFrom { get; private set; }

    /// <summary>Checkpoint interval in events; 0 = none.</summary>
    public long CheckpointEveryEvents { get; private set; }

    /// <summary>Observers of every event, in run order. A tap only observes.</summary>
    public TapSet Taps { get; } = new();

    /// <summary>Events applied in this run so far (live or replayed): the next event's index minus one.</summary>
    public long PersistedEvents { get; private set; }

    public int CheckpointsWritten { get; private set; }

    /// <summary>A whole-run replay is feeding stored events through Akka's recovery.</summary>
    public ReplayFeed? Feed { get; private set; }

    /// <summary>
    /// Events go through Akka.Persistence's journal protocol: they are stored (a writer), a
    /// restarted actor may recover them, or a replay feeds them. A run that stores nothing (a
    /// soak) skips the round trip to a journal that would keep nothing; its events are applied,
    /// numbered and shown to the taps exactly as they would be (a test compares both ways).
    /// </summary>
    public bool JournalsThroughAkka => Writer is not null || RecoverFrom is not null || Feed is not null;

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
            if (a.SequenceNr == 0) continue;
            h.Add(a.Stream);
            h.Add(a.SequenceNr);
            a.HashState(ref h);
        }
        return h.Value;
    }

    /// <summary>Records the run's state hash now (also at the end of a run), unless a checkpoint at this event count exists.</summary>
    public void WriteCheckpoint()
    {
        Invariant.Assert(_outstanding == 0, "a checkpoint hashes only journaled state");
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

    /// <summary>An actor applied an event and handed it to the journal.</summary>
    internal void Persisting() => _outstanding++;

    /// <summary>
    /// The journal has an event: number it and show it to the taps. A checkpoint falls due every
    /// <see cref="CheckpointEveryEvents"/> events and is taken once no applied event waits for the
    /// journal (the end of the step), so that the state it hashes is exactly that of its events.
    /// </summary>
    internal void Journaled<TEvent>(IJournaledActor actor, in TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>
    {
        _outstanding--;
        long index = ++PersistedEvents;
        if (Taps.Count > 0)
        {
            var meta = new EventMeta(actor.Stream, actor.SequenceNr, _loop.NowNs, index);
            Taps.Publish(in meta, in evt);
        }
        // A replay verifies the checkpoints the run wrote; it writes none.
        if (Feed is not null || CheckpointEveryEvents == 0) return;
        if (index % CheckpointEveryEvents == 0) _checkpointDue = true;
        if (_checkpointDue && _outstanding == 0)
        {
            _checkpointDue = false;
            WriteCheckpoint();
        }
    }

    private static readonly Comparer<IJournaledActor> ByStream = Comparer<IJournaledActor>.Create(static (a, b) => string.CompareOrdinal(a.Stream, b.Stream));
}
