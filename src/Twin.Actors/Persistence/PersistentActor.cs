using Twin.Actors.Dispatch;
using Twin.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Actors.Persistence;

/// <summary>
/// An event-sourced actor, after Akka's ReceivePersistentActor. State changes only through
/// events: <see cref="Persist{TEvent}(TEvent)"/> journals an event and applies it through the
/// handler registered with <see cref="Recover{TEvent}"/>, which is also what recovery and whole-run
/// replay call. So a replay rebuilds exactly the state the run had.
///
/// Timing: in this single-threaded runtime the handler runs at once, before any other message,
/// which gives Akka's Persist ordering (no command interleaves between an event and its handler);
/// durability follows through the journal's group commit. Persisting allocates nothing: the
/// event is a record struct encoded into a stack buffer.
/// </summary>
public abstract class PersistentActor : ActorBase
{
    private readonly Dictionary<ushort, EventBinding> _bindingsByCode = [];
    private EventBinding?[] _bindingsByType = new EventBinding?[16];
    private Action<SnapshotOffer>? _onSnapshot;
    private Action<RecoveryCompleted>? _onRecoveryCompleted;
    private int _stream = -1;

    /// <summary>Run-relative, stable and unique: the stream this actor's events go to ("cpu-0").</summary>
    public abstract string PersistenceId { get; }

    /// <summary>Sequence number of the last event persisted or recovered.</summary>
    public long LastSequenceNr { get; private set; }

    public bool IsRecovering { get; private set; }

    /// <summary>Adds this actor's state, in a fixed order, to a run's state hash.</summary>
    public abstract void HashState(ref StateHasher hasher);

    /// <summary>Hash of this actor's state alone.</summary>
    public ulong StateHash()
    {
        var h = new StateHasher();
        HashState(ref h);
        return h.Value;
    }

    /// <summary>Registers how an event type changes state. Used by Persist, recovery and replay alike.</summary>
    protected void Recover<TEvent>(Action<TEvent> apply) where TEvent : struct, IJournaledEvent<TEvent>
    {
        var binding = new EventBinding<TEvent>(apply);
        ushort code = TEvent.Manifest.Code;
        if (!_bindingsByCode.TryAdd(code, binding))
        {
            throw new InvalidOperationException($"event code {code} ({TEvent.Manifest.Name}) is registered twice");
        }
        int id = MessageType<TEvent>.Id;
        if (id >= _bindingsByType.Length) Array.Resize(ref _bindingsByType, Math.Max(id + 1, _bindingsByType.Length * 2));
        _bindingsByType[id] = binding;
    }

    protected void Recover(Action<SnapshotOffer> onSnapshot) => _onSnapshot = onSnapshot;

    protected void Recover(Action<RecoveryCompleted> onCompleted) => _onRecoveryCompleted = onCompleted;

    /// <summary>Akka's name for a command handler: same as Receive.</summary>
    protected void Command<T>(Action<T> handler) where T : notnull => Receive(handler);

    /// <summary>Journals the event and applies it through its registered Recover handler.</summary>
    protected void Persist<TEvent>(TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>
    {
        EventBinding<TEvent> binding = BindingFor<TEvent>();
        Journal(in evt);
        PersistenceExtension p = Cell.System.Persistence;
        p.EnterHandler();
        binding.Apply(evt);
        p.ExitHandler();
        p.Published(this, LastSequenceNr, in evt);
    }

    /// <summary>Journals the event, applies it through its registered handler, then runs <paramref name="afterApply"/> (Akka's Persist handler).</summary>
    protected void Persist<TEvent>(TEvent evt, Action<TEvent> afterApply) where TEvent : struct, IJournaledEvent<TEvent>
    {
        EventBinding<TEvent> binding = BindingFor<TEvent>();
        Journal(in evt);
        PersistenceExtension p = Cell.System.Persistence;
        p.EnterHandler();
        binding.Apply(evt);
        p.Published(this, LastSequenceNr, in evt);
        afterApply(evt);
        p.ExitHandler();
    }

    /// <summary>Journals the events as one atomic write (all stored or none), applying each in order.</summary>
    protected void PersistAll<TEvent>(IReadOnlyList<TEvent> events) where TEvent : struct, IJournaledEvent<TEvent>
    {
        PersistenceExtension p = Cell.System.Persistence;
        IJournalWriter? writer = p.Writer;
        writer?.BeginAtomic(events.Count);
        // One handler scope for the group: a checkpoint falling due inside it is written after it.
        p.EnterHandler();
        try
        {
            for (int i = 0; i < events.Count; i++) Persist(events[i]);
        }
        finally
        {
            writer?.EndAtomic();
            p.ExitHandler();
        }
    }

    /// <summary>Stores a snapshot of the state as of <see cref="LastSequenceNr"/>, after the events it covers are committed.</summary>
    protected void SaveSnapshot(byte[] snapshot)
    {
        PersistenceExtension p = Cell.System.Persistence;
        if (p.Journal is null || p.Writer is null) throw new InvalidOperationException("no journal is attached to this system");
        p.Writer.Flush();
        p.Journal.SaveSnapshot(new SnapshotRecord(p.Writer.Run.PersistenceIdOf(PersistenceId), LastSequenceNr, Cell.System.NowNs, StateHash(), 0, snapshot));
    }

    internal override void AroundPreStart()
    {
        RecoverFromJournal();
        PreStart();
    }

    internal override void AroundPostRestart(Exception reason)
    {
        RecoverFromJournal();
        PostRestart(reason);
    }

    /// <summary>Applies one stored event during a whole-run replay.</summary>
    internal void ReplayEvent(JournalEntry entry, in EventMeta meta, List<EventTap> taps, string where)
    {
        EventBinding binding = ManifestCheck.Resolve(_bindingsByCode, entry.Manifest, where);
        if (entry.SequenceNr != LastSequenceNr + 1)
        {
            throw new JournalCorruptException($"{where}: sequence number {entry.SequenceNr} follows {LastSequenceNr} in {PersistenceId}");
        }
        IsRecovering = true;
        try
        {
            binding.Replay(entry.Payload, in meta, taps);
        }
        catch (CorruptPayloadException e)
        {
            throw new JournalCorruptException($"{where}: {binding.Manifest} payload is corrupt: {e.Message}", e);
        }
        finally
        {
            IsRecovering = false;
        }
        LastSequenceNr = entry.SequenceNr;
    }

    private EventBinding<TEvent> BindingFor<TEvent>() where TEvent : struct, IJournaledEvent<TEvent>
    {
        int id = MessageType<TEvent>.Id;
        if (id < _bindingsByType.Length && _bindingsByType[id] is EventBinding<TEvent> b) return b;
        throw new InvalidOperationException($"{GetType().Name} persists {typeof(TEvent).Name} without a Recover handler for it");
    }

    private void Journal<TEvent>(in TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>
    {
        if (IsRecovering) throw new InvalidOperationException("Persist during recovery");
        PersistenceExtension p = Cell.System.Persistence;
        long seq = LastSequenceNr + 1;
        if (p.Writer is not null)
        {
            if (_stream < 0) _stream = p.Writer.RegisterStream(PersistenceId);
            Span<byte> buffer = stackalloc byte[PayloadLimits.MaxPayloadBytes];
            var writer = new PayloadWriter(buffer);
            evt.Write(ref writer);
            p.Writer.Append(_stream, seq, TEvent.Manifest.Column, Cell.System.NowNs, writer.Written);
        }
        LastSequenceNr = seq;
    }

    /// <summary>Akka recovery: snapshot offer, events after it, then RecoveryCompleted, also for a new id.</summary>
    private void RecoverFromJournal()
    {
        PersistenceExtension p = Cell.System.Persistence;
        LastSequenceNr = 0;
        if (p.Journal is not null && p.Run is not null)
        {
            p.Writer?.Flush();
            string pid = p.Run.PersistenceIdOf(PersistenceId);
            IsRecovering = true;
            try
            {
                SnapshotRecord? snapshot = p.Journal.LoadSnapshot(pid, long.MaxValue);
                if (snapshot is not null && _onSnapshot is not null)
                {
                    _onSnapshot(new SnapshotOffer(snapshot.SequenceNr, snapshot.TimestampNs, snapshot.StateHash, snapshot.Payload));
                    LastSequenceNr = snapshot.SequenceNr;
                }
            }
            finally
            {
                IsRecovering = false;
            }
            using IJournalCursor cursor = p.Journal.ReadMessages(pid, LastSequenceNr + 1, long.MaxValue, long.MaxValue);
            while (cursor.MoveNext())
            {
                JournalEntry e = cursor.Current;
                var meta = new EventMeta(PersistenceId, e.SequenceNr, e.TimestampNs, 0);
                ReplayEvent(e, in meta, [], $"{p.Journal.Uri} row {e.Ordering}");
            }
        }
        _onRecoveryCompleted?.Invoke(new RecoveryCompleted(LastSequenceNr));
    }
}
