using Akka.Persistence;
using Twin.Actors.Runtime;
using Twin.Persistence.Codec;

namespace Twin.Actors.Journal;

/// <summary>
/// An Akka persistent actor of a run whose events are Twin's record structs. A subclass registers
/// how each event type changes its state with <see cref="Recover{TEvent}"/>; <see cref="Persist{TEvent}"/>
/// is Akka's Persist with that same handler, so a live event, an actor's recovery and a whole-run
/// replay all change state through one piece of code. After the handler, the event is numbered and
/// shown to the run's taps (the online checkers) in run order. The persistence id is <c>RUN/stream</c>.
/// </summary>
public abstract class JournaledActor : UntypedPersistentActor, IJournaledActor
{
    private readonly RunPersistence _persistence;
    private readonly Dictionary<Type, EventBinding> _byType = [];
    private EventBinding?[] _byTypeId = new EventBinding?[16];

    protected JournaledActor(string stream)
    {
        Stream = stream;
        Loop = RunLoop.Of(Context.System);
        _persistence = Loop.Persistence;
        PersistenceId = _persistence.PersistenceIdOf(stream);
    }

    public string Stream { get; }

    public sealed override string PersistenceId { get; }

    /// <summary>The run this actor belongs to: its clock, its random source, its journal side.</summary>
    protected RunLoop Loop { get; }

    public abstract void HashState(ref StateHasher hasher);

    /// <summary>Hash of this actor's state alone.</summary>
    public ulong StateHash()
    {
        var h = new StateHasher();
        HashState(ref h);
        return h.Value;
    }

    /// <summary>Registers how <typeparamref name="TEvent"/> changes this actor's state: for Persist, recovery and replay alike.</summary>
    protected void Recover<TEvent>(Action<TEvent> apply) where TEvent : struct, IJournaledEvent<TEvent>
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

    /// <summary>Akka's Persist, applying the event through its registered Recover handler once the journal has it.</summary>
    protected void Persist<TEvent>(TEvent evt) where TEvent : struct, IJournaledEvent<TEvent> => Persist(evt, Binding<TEvent>().Handle);

    /// <summary>Called once recovery is over: a new actor persists its first event here.</summary>
    protected abstract void OnRecovered();

    protected sealed override void OnRecover(object message)
    {
        switch (message)
        {
            case RecoveryCompleted:
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
        throw new InvalidOperationException($"{GetType().Name} persists {typeof(TEvent).Name} without a Recover handler for it");
    }

    /// <summary>The event was applied: live, or replayed into a whole-run replay (a restarted actor's own recovery is not news).</summary>
    private void Applied<TEvent>(in TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>
    {
        if (IsRecovering && _persistence.Feed is null) return;
        _persistence.Applied(this, in evt);
    }

    private abstract class EventBinding
    {
        public abstract void Recover(object evt);
    }

    private sealed class EventBinding<TEvent>(JournaledActor actor, Action<TEvent> apply) : EventBinding
        where TEvent : struct, IJournaledEvent<TEvent>
    {
        /// <summary>Created once: Akka's Persist takes it for every event of this type.</summary>
        public readonly Action<TEvent> Handle = evt =>
        {
            apply(evt);
            actor.Applied(in evt);
        };

        public override void Recover(object evt)
        {
            var e = (TEvent)evt;
            apply(e);
            actor.Applied(in e);
        }
    }
}

/// <summary>A small dense id per event type, for array lookups on the persist path.</summary>
internal static class EventTypeId
{
    private static int _next;

    internal static int Next() => Interlocked.Increment(ref _next) - 1;
}

internal static class EventTypeId<T>
{
    public static readonly int Value = EventTypeId.Next();
}
