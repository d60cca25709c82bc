using Twin.Actors.Dispatch;
using Twin.Actors.Supervision;

namespace Twin.Actors;

/// <summary>
/// The runtime's side of one actor: mailbox, handlers, children, timers and supervision counters.
/// The actor instance is replaced on restart; the cell (and the ActorRef) stays.
/// </summary>
internal sealed class ActorCell : IActorContext, ITimerScheduler
{
    [ThreadStatic]
    internal static ActorCell? Constructing;

    private readonly List<TimerSlot> _timerSlots = [];
    private readonly Dictionary<object, int> _timerSlotByKey = [];

    internal struct TimerSlot
    {
        public int Generation;
        public bool Active;
        public long IntervalNs;
        public Dispatch.Envelope Envelope;
    }

    public ActorCell(ActorSystem system, int id, string name, Props props, ActorCell? parent)
    {
        System = system;
        Id = id;
        Name = name;
        Props = props;
        ParentCell = parent;
        Self = new ActorRef(system, id, parent is null ? $"/user/{name}" : $"{parent.Self.Path}/{name}");
    }

    public ActorSystem System { get; }

    public int Id { get; }

    public string Name { get; }

    public Props Props { get; }

    public ActorCell? ParentCell { get; }

    public ActorRef Self { get; }

    public ActorRef Parent => ParentCell?.Self ?? ActorRef.NoSender;

    public List<ActorCell> Children { get; } = [];

    public Dictionary<string, ActorCell> ChildrenByName { get; } = new(StringComparer.Ordinal);

    public ActorBase Actor { get; private set; } = null!;

    public HandlerTable Handlers { get; private set; } = new();

    public Mailbox Mailbox { get; } = new();

    public bool IsAlive { get; set; } = true;

    /// <summary>Position in the system's ready list, or -1.</summary>
    public int ReadyIndex { get; set; } = -1;

    public ActorRef CurrentSender { get; set; } = ActorRef.NoSender;

    public long RestartWindowStartNs { get; set; }

    public int RestartsInWindow { get; set; }

    public long NowNs => System.NowNs;

    public DeterministicRandom Random => System.Random;

    public ITimerScheduler Timers => this;

    public SupervisorStrategy StrategyForChildren => Props.SupervisorStrategy ?? SupervisorStrategy.Default;

    /// <summary>Builds a fresh actor instance from Props with a fresh handler table.</summary>
    public void CreateInstance()
    {
        Handlers = new HandlerTable();
        ActorCell? outer = Constructing;
        Constructing = this;
        try
        {
            Actor = Props.Factory();
        }
        finally
        {
            Constructing = outer;
        }
    }

    public ActorRef ActorOf(Props props, string name) => System.CreateCell(props, name, this).Self;

    public void Stop(ActorRef actor) => System.Stop(actor);

    public void StartSingleTimer<T>(object key, T message, long delayNs) where T : notnull =>
        StartTimer(key, message, delayNs, 0);

    public void StartPeriodicTimer<T>(object key, T message, long initialDelayNs, long intervalNs) where T : notnull
    {
        if (intervalNs <= 0) throw new ArgumentOutOfRangeException(nameof(intervalNs), intervalNs, "a periodic timer needs a positive interval");
        StartTimer(key, message, initialDelayNs, intervalNs);
    }

    public bool IsTimerActive(object key) => _timerSlotByKey.TryGetValue(key, out int slot) && _timerSlots[slot].Active;

    public void Cancel(object key)
    {
        if (!_timerSlotByKey.TryGetValue(key, out int slot)) return;
        TimerSlot s = _timerSlots[slot];
        s.Active = false;
        s.Generation++;
        _timerSlots[slot] = s;
    }

    public void CancelAll()
    {
        foreach (object key in _timerSlotByKey.Keys) Cancel(key);
    }

    /// <summary>Called by the system when a timer entry is due; false if the timer was cancelled or replaced.</summary>
    public bool TryFireTimer(int slot, int generation, out long nextDueDelayNs)
    {
        TimerSlot s = _timerSlots[slot];
        nextDueDelayNs = 0;
        if (!IsAlive || !s.Active || s.Generation != generation) return false;
        if (s.IntervalNs > 0)
        {
            nextDueDelayNs = s.IntervalNs;
        }
        else
        {
            s.Active = false;
            _timerSlots[slot] = s;
        }
        return true;
    }

    private void StartTimer<T>(object key, T message, long delayNs, long intervalNs) where T : notnull
    {
        if (delayNs < 0) throw new ArgumentOutOfRangeException(nameof(delayNs), delayNs, "a timer cannot fire in the past");
        if (!_timerSlotByKey.TryGetValue(key, out int slot))
        {
            slot = _timerSlots.Count;
            _timerSlots.Add(default);
            _timerSlotByKey[key] = slot;
        }
        TimerSlot s = _timerSlots[slot];
        s.Generation++;
        s.Active = true;
        s.IntervalNs = intervalNs;
        s.Envelope = Dispatch.Envelope.Create(message, Id);
        _timerSlots[slot] = s;
        System.ScheduleTimer(this, slot, s.Generation, delayNs, s.Envelope);
    }
}
