using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;

namespace Twin.Actors.Runtime;

/// <summary>
/// Akka's scheduler for a run (<c>akka.scheduler.implementation</c>): virtual time in nanoseconds,
/// a priority queue of (due time, insertion order), and no thread. Time moves only when the run loop finds
/// nothing ready; then every entry due at the earliest instant is released, in insertion order.
/// Akka's TimeSpan overloads have 100 ns ticks; Twin's actors use <see cref="ScheduleTellOnceNs"/>
/// for nanosecond delays. It also owns the run's <see cref="RunLoop"/>, which Akka builds before
/// any dispatcher or mailbox: they find it here.
/// </summary>
public sealed class VirtualTimeScheduler : SchedulerBase, IDateTimeOffsetNowTimeProvider
{
    private static readonly DateTimeOffset Epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // The queue orders small unmanaged keys; what is delivered sits in a slot table, written once
    // at Push and cleared once at Pop. Heap moves of the entries themselves (five references each)
    // cost a write barrier per reference and were 12% of a soak's time (perf, 2026-12-02).
    private readonly PriorityQueue<int, DueKey> _queue = new(64);
    private Entry[] _slots = new Entry[64];
    private readonly Stack<int> _freeSlots = new();
    private int _slotsUsed;
    private long _seq;
    private int _compactAt = MinCompactAt;
    private readonly List<(int Slot, DueKey Key)> _live = [];
    private const int MinCompactAt = 1024;

    public VirtualTimeScheduler(Config config, ILoggingAdapter log) : base(config, log)
    {
        Config run = config.GetConfig("twin.run") ?? Config.Empty;
        ulong seed = ulong.Parse(run.GetString("seed", "1"), System.Globalization.CultureInfo.InvariantCulture);
        ISchedulingStrategy strategy = run.GetString("strategy", "random") switch
        {
            "random" => RandomSchedulingStrategy.Instance,
            "pct" => new PctSchedulingStrategy(seed, run.GetInt("pct-depth", 3), run.GetLong("pct-horizon", 100_000)),
            string other => throw new ConfigurationException($"twin.run.strategy: '{other}' is neither 'random' nor 'pct'"),
        };
        Loop = new RunLoop(this, seed, strategy);
    }

    public RunLoop Loop { get; }

    /// <summary>Virtual time in nanoseconds since the run began.</summary>
    public long NowNs { get; private set; }

    /// <summary>Due time of the earliest live entry, or null.</summary>
    public long? NextDueNs
    {
        get
        {
            DropCancelledTop();
            return _queue.TryPeek(out _, out DueKey top) ? top.DueNs : null;
        }
    }

    public override TimeSpan MonotonicClock => TimeSpan.FromTicks(NowNs / 100);

    public override TimeSpan HighResMonotonicClock => TimeSpan.FromTicks(NowNs / 100);

    protected override DateTimeOffset TimeNow => Epoch.AddTicks(NowNs / 100);

    /// <summary>Delivers <paramref name="message"/> to <paramref name="receiver"/> after <paramref name="delayNs"/> of virtual time.</summary>
    public void ScheduleTellOnceNs(long delayNs, ICanTell receiver, object message, IActorRef? sender)
    {
        if (delayNs < 0) throw new ArgumentOutOfRangeException(nameof(delayNs), delayNs, "cannot deliver in the past");
        Push(new Entry { DueNs = NowNs + delayNs, Receiver = receiver, Message = message, Sender = sender ?? ActorRefs.NoSender });
    }

    /// <summary>
    /// Moves the clock to the earliest due entry and delivers every entry due then, in insertion
    /// order. False when no live entry is left.
    /// </summary>
    internal bool ReleaseNextDue()
    {
        DropCancelledTop();
        if (!_queue.TryPeek(out _, out DueKey top)) return false;
        long due = top.DueNs;
        Invariant.Assert(due >= NowNs, "virtual time never goes back");
        NowNs = due;
        while (_queue.TryPeek(out _, out top) && top.DueNs == due)
        {
            Entry e = Pop();
            if (e.Cancelable?.IsCancellationRequested == true) continue;
            if (e.IntervalNs > 0)
            {
                Entry again = e;
                again.DueNs = due + e.IntervalNs;
                Push(again);
            }
            if (e.Action is not null) e.Action.Run();
            else e.Receiver!.Tell(e.Message!, e.Sender!);
        }
        return true;
    }

    /// <summary>Replay sets the clock to each stored event's time, so that observers see the run's clock.</summary>
    public void MoveToForReplay(long ns)
    {
        Invariant.Assert(ns >= NowNs, "virtual time never goes back");
        NowNs = ns;
    }

    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Push(new Entry { DueNs = Due(delay), Receiver = receiver, Message = message, Sender = sender, Cancelable = cancelable });

    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Push(new Entry { DueNs = Due(initialDelay), IntervalNs = Interval(interval), Receiver = receiver, Message = message, Sender = sender, Cancelable = cancelable });

    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) =>
        Push(new Entry { DueNs = Due(delay), Action = new ActionRunnable(action), Cancelable = cancelable });

    protected override void InternalScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) =>
        Push(new Entry { DueNs = Due(delay), Action = action, Cancelable = cancelable });

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Push(new Entry { DueNs = Due(initialDelay), IntervalNs = Interval(interval), Action = new ActionRunnable(action), Cancelable = cancelable });

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Push(new Entry { DueNs = Due(initialDelay), IntervalNs = Interval(interval), Action = action, Cancelable = cancelable });

    private long Due(TimeSpan delay) => NowNs + Math.Max(0, delay.Ticks) * 100;

    private static long Interval(TimeSpan interval) => Math.Max(1, interval.Ticks * 100);

    private void DropCancelledTop()
    {
        while (_queue.TryPeek(out int slot, out _) && _slots[slot].Cancelable?.IsCancellationRequested == true) Pop();
    }

    private void Push(Entry e)
    {
        if (_queue.Count >= _compactAt) DropCancelled();
        int slot;
        if (!_freeSlots.TryPop(out slot))
        {
            slot = _slotsUsed++;
            if (slot == _slots.Length) Array.Resize(ref _slots, _slots.Length * 2);
        }
        _slots[slot] = e;
        _queue.Enqueue(slot, new DueKey(e.DueNs, _seq++));
    }

    /// <summary>
    /// Akka cancels most of its timers long before they are due (each persistent actor's recovery
    /// tick, 30 s of virtual time away: 7,700 of them per 1 M events, which deepened the queue of
    /// every push and pop). When the queue has doubled since the last time, the cancelled entries
    /// go; the rest keep their keys, so the order of delivery is the same.
    /// </summary>
    private void DropCancelled()
    {
        _live.Clear();
        foreach ((int slot, DueKey key) in _queue.UnorderedItems)
        {
            if (_slots[slot].Cancelable?.IsCancellationRequested == true)
            {
                _slots[slot] = default;
                _freeSlots.Push(slot);
            }
            else
            {
                _live.Add((slot, key));
            }
        }
        _queue.Clear();
        _queue.EnqueueRange(_live);
        _live.Clear();
        _compactAt = Math.Max(MinCompactAt, 2 * _queue.Count);
    }

    private Entry Pop()
    {
        int slot = _queue.Dequeue();
        Entry e = _slots[slot];
        _slots[slot] = default;
        _freeSlots.Push(slot);
        return e;
    }

    /// <summary>Earlier due time first; at one instant, insertion order.</summary>
    private readonly record struct DueKey(long DueNs, long Seq) : IComparable<DueKey>
    {
        public int CompareTo(DueKey other) => DueNs != other.DueNs ? DueNs.CompareTo(other.DueNs) : Seq.CompareTo(other.Seq);
    }

    private struct Entry
    {
        public long DueNs;
        public long IntervalNs;
        public ICanTell? Receiver;
        public object? Message;
        public IActorRef? Sender;
        public IRunnable? Action;
        public ICancelable? Cancelable;
    }
}
