using Akka.Persistence;
using Twin.Actors.Persistence;
using Twin.Actors.Runtime;
using Twin.Persistence.Codec;

namespace Twin.Actors.Journal;

/// <summary>
/// An Akka persistent actor of a run whose events are Twin's record structs. A subclass registers
/// how each event type changes its state with <see cref="ApplyWith{TEvent}"/>: a live event, an
/// actor's recovery and a whole-run replay all change state through that one handler.
///
/// <see cref="Raise{TEvent}"/> applies the event through it at once; the events of one command
/// go to Akka's PersistAll as one atomic write when the command is done, whose handler numbers
/// each event and shows it to the run's taps (the online checkers) in run order once the journal
/// has it. Applying first is the CPU's program order: the next
/// instruction of a command sees its own last store. It is safe because the in-loop journal
/// answers before any other actor of the run takes a step, and a journal that fails halts the
/// run: no other actor can see state the journal lacks. The persistence id is <c>RUN/stream</c>.
///
/// The names say what Twin does, not Akka's: <c>Raise</c> is not Akka's <c>Persist</c> (whose
/// handler runs only once the journal has the event; here the state changes first and the batch
/// goes to <c>PersistAll</c> at the end of the command), and <c>ApplyWith</c> is not a recovery
/// handler only (it applies live events too).
/// </summary>
public abstract class JournaledActor : Eventsourced, IJournaledActor
{
    private readonly RunPersistence _persistence;
    private readonly Dictionary<Type, EventBinding> _byType = [];
    private EventBinding?[] _byTypeId = new EventBinding?[16];
    private readonly List<object> _batch = [];
    private readonly Queue<EventBinding> _journaling = new();
    private readonly Action<object> _journaled;

    protected JournaledActor(string stream)
    {
        Stream = stream;
        Loop = RunLoop.Of(Context.System);
        _persistence = Loop.Persistence;
        PersistenceId = _persistence.PersistenceIdOf(stream);
        // PersistAll's handler gets the events back in order: each goes to the binding queued with it.
        _journaled = evt => _journaling.Dequeue().Journaled(evt);
    }

    public string Stream { get; }

    /// <summary>This stream's events journaled so far (Akka's <c>LastSequenceNr</c> when they go through Akka's journal).</summary>
    public long SequenceNr { get; private set; }

    public sealed override string PersistenceId { get; }

    /// <summary>The run this actor belongs to: its clock, its random source, its journal side.</summary>
    protected RunLoop Loop { get; }

    public abstract void HashState(ref StateHasher hasher);

    /// <summary>Registers how <typeparamref name="TEvent"/> changes this actor's state: for <see cref="Raise{TEvent}"/>, recovery and replay alike.</summary>
    protected void ApplyWith<TEvent>(Action<TEvent> apply) where TEvent : struct, IJournaledEvent<TEvent>
    {
        EventCodecs.Register<TEvent>();
        var binding = new EventBinding<TEvent>(this, apply);
        if (!_byType.TryAdd(typeof(TEvent), binding))
        {
            throw new InvalidOperationException($"{GetType().Name} registers {typeof(TEvent).Name} twice");
        }
        int id = EventTypeId<TEvent>.Value;
        if (id >= _byTypeId.Length) Array.Resize(ref _byTypeId, Math.Max(id + 1, _byTypeId.Length * 2));
        _byTypeId[id] = binding;
    }

    /// <summary>
    /// Raises an event: applies it at once through its <see cref="ApplyWith{TEvent}"/> handler; it is
    /// journaled with the command's other events (one PersistAll) when the command is done.
    /// </summary>
    protected void Raise<TEvent>(TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>
    {
        EventBinding<TEvent> binding = Binding<TEvent>();
        binding.Apply(evt);
        _persistence.Persisting();
        // Akka's PersistAll takes objects; a run that stores nothing keeps the event unboxed in its
        // binding until the command is done (boxing was 15% of a soak's allocation).
        if (_persistence.JournalsThroughAkka) _batch.Add(evt);
        else binding.Hold(evt);
        _journaling.Enqueue(binding);
    }

    /// <summary>A command (anything that is not recovery): the actor's behaviour. Unknown messages go to <c>Unhandled</c>.</summary>
    protected abstract void OnCommand(object message);

    protected sealed override bool Receive(object message) => ReceiveCommand(message);

    protected sealed override bool ReceiveCommand(object message)
    {
        OnCommand(message);
        JournalBatch();
        return true;
    }

    protected sealed override bool ReceiveRecover(object message)
    {
        Recover(message);
        JournalBatch();
        return true;
    }

    /// <summary>The command's events, in the order applied, as one atomic write (all journaled or none).</summary>
    private void JournalBatch()
    {
        if (_persistence.JournalsThroughAkka)
        {
            if (_batch.Count == 0) return;
            PersistAll(_batch, _journaled);
            _batch.Clear();
            return;
        }
        // Nothing stores them: what PersistAll's handler would do once the in-loop journal
        // answered (before any other actor of the run steps), done now, in the same order.
        while (_journaling.TryDequeue(out EventBinding? binding)) binding.JournalHeld();
    }

    /// <summary>Called once recovery is over: a new actor persists its first event here.</summary>
    protected abstract void OnRecovered();

    private void Recover(object message)
    {
        switch (message)
        {
            case RecoveryCompleted:
                SequenceNr = LastSequenceNr;
                OnRecovered();
                break;
            case IJournaledEvent e when _byType.TryGetValue(e.GetType(), out EventBinding? binding):
                binding.Recover(e);
                break;
            case SnapshotOffer:
                // Twin saves no snapshots; an offer would come from a foreign store.
                throw new InvalidOperationException($"{PersistenceId}: snapshot offered, but Twin's actors recover from events only");
            default:
                throw new InvalidOperationException($"{PersistenceId}: cannot recover from {message.GetType().Name}");
        }
    }

    protected override void PreStart()
    {
        _persistence.Register(this);
        base.PreStart();
    }

    protected override void PostStop()
    {
        _persistence.Unregister(this);
        base.PostStop();
    }

    private EventBinding<TEvent> Binding<TEvent>() where TEvent : struct, IJournaledEvent<TEvent>
    {
        int id = EventTypeId<TEvent>.Value;
        if (id < _byTypeId.Length && _byTypeId[id] is EventBinding<TEvent> b) return b;
        throw new InvalidOperationException($"{GetType().Name} raises {typeof(TEvent).Name} without an ApplyWith handler for it");
    }

    /// <summary>A recovered event: news in a whole-run replay, not in a restarted actor's own recovery.</summary>
    private void Recovered<TEvent>(in TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>
    {
        if (_persistence.Feed is null) return;
        _persistence.Persisting();
        _persistence.Journaled(this, in evt);
    }

    private abstract class EventBinding
    {
        public abstract void Recover(object evt);

        /// <summary>The journal has the event (already applied): number it and show it to the taps.</summary>
        public abstract void Journaled(object evt);

        /// <summary><see cref="Journaled"/> for the oldest event held unboxed (a run that stores nothing).</summary>
        public abstract void JournalHeld();
    }

    private sealed class EventBinding<TEvent>(JournaledActor actor, Action<TEvent> apply) : EventBinding
        where TEvent : struct, IJournaledEvent<TEvent>
    {
        public readonly Action<TEvent> Apply = apply;
        private Queue<TEvent>? _held;

        public void Hold(in TEvent evt) => (_held ??= new Queue<TEvent>()).Enqueue(evt);

        public override void JournalHeld() => Journaled(_held!.Dequeue());

        public override void Journaled(object evt) => Journaled((TEvent)evt);

        private void Journaled(in TEvent e)
        {
            actor.SequenceNr++;
            Invariant.Assert(!actor._persistence.JournalsThroughAkka || actor.SequenceNr == actor.LastSequenceNr,
                "an event journaled through Akka has the sequence number Akka gave it");
            actor._persistence.Journaled(actor, in e);
        }

        public override void Recover(object evt)
        {
            var e = (TEvent)evt;
            Apply(e);
            actor.SequenceNr = actor.LastSequenceNr;
            actor.Recovered(in e);
        }
    }
}
