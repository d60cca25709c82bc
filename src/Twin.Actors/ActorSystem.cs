using Twin.Actors.Dispatch;
using Twin.Actors.Persistence;
using Twin.Actors.Supervision;

namespace Twin.Actors;

/// <summary>
/// A deterministic, single-threaded actor system on virtual time. Messages sent now go to the
/// target's FIFO mailbox; delayed messages and timers wait in a heap ordered by (due time,
/// insertion). When no mailbox has work, the clock jumps to the next due time and every entry due
/// then is delivered; among actors with work at the same instant the
/// <see cref="ISchedulingStrategy"/> picks, from the seeded random source. Seed + code + inputs
/// therefore fix the whole run. Delivery is FIFO per receiver at a given instant (stronger than
/// Akka's per sender–receiver pair).
/// </summary>
public sealed class ActorSystem
{
    private readonly List<ActorCell> _cells = [];
    private readonly List<ActorCell> _topLevel = [];
    private readonly Dictionary<string, ActorCell> _topLevelByName = new(StringComparer.Ordinal);
    private readonly TimerHeap _timers = new();
    private int[] _ready = new int[16];
    private int _readyCount;
    private long _timerSeq;
    private Exception? _halted;

    public ActorSystem(ulong seed, ISchedulingStrategy? strategy = null, SupervisorStrategy? guardianStrategy = null)
    {
        Seed = seed;
        Random = new DeterministicRandom(seed);
        Strategy = strategy ?? RandomSchedulingStrategy.Instance;
        GuardianStrategy = guardianStrategy ?? SupervisorStrategy.Default;
        Persistence = new PersistenceExtension(this);
    }

    public ulong Seed { get; }

    public DeterministicRandom Random { get; }

    public ISchedulingStrategy Strategy { get; }

    /// <summary>Applied to top-level actors. Escalation from there halts the system.</summary>
    public SupervisorStrategy GuardianStrategy { get; }

    /// <summary>Virtual time in nanoseconds; only the scheduler moves it.</summary>
    public long NowNs { get; private set; }

    /// <summary>Messages handled so far.</summary>
    public long DeliveredMessages { get; private set; }

    public long DeadLetters { get; internal set; }

    public long UnhandledMessages { get; internal set; }

    public long Restarts { get; private set; }

    public PersistenceExtension Persistence { get; }

    /// <summary>True once an escalated failure stopped the system.</summary>
    public bool IsHalted => _halted is not null;

    public ActorRef ActorOf(Props props, string name) => CreateCell(props, name, null).Self;

    public void Stop(ActorRef actor)
    {
        if (actor.System != this || actor.Id < 0) return;
        StopCell(_cells[actor.Id]);
    }

    /// <summary>Delivers <paramref name="message"/> to <paramref name="target"/> after <paramref name="delayNs"/> of virtual time.</summary>
    public void ScheduleTellOnce<T>(long delayNs, ActorRef target, T message, ActorRef? sender = null) where T : notnull
    {
        if (delayNs < 0) throw new ArgumentOutOfRangeException(nameof(delayNs), delayNs, "cannot deliver in the past");
        if (target.System != this) throw new ArgumentException("the target belongs to another system", nameof(target));
        PushTimer(target.Id, -1, 0, delayNs, Envelope.Create(message, sender?.Id ?? -1));
    }

    /// <summary>Handles one message, advancing the clock if needed. False when nothing is left to do.</summary>
    /// <exception cref="SimulationHaltedException">a failure escalated to the top.</exception>
    public bool RunOne()
    {
        if (_halted is not null) throw new SimulationHaltedException(_halted);
        while (_readyCount == 0)
        {
            if (_timers.Count == 0) return false;
            ReleaseDueTimers();
        }
        int pick = _readyCount == 1 ? 0 : Strategy.Pick(_ready.AsSpan(0, _readyCount), Random);
        ActorCell cell = _cells[_ready[pick]];
        Envelope envelope = cell.Mailbox.Dequeue();
        if (cell.Mailbox.Count == 0) RemoveReady(cell);
        Deliver(cell, ref envelope);
        if (_halted is not null) throw new SimulationHaltedException(_halted);
        return true;
    }

    /// <summary>Runs until idle, or until virtual time would pass <paramref name="untilNs"/>, or <paramref name="maxMessages"/> were handled.</summary>
    public long Run(long maxMessages = long.MaxValue, long untilNs = long.MaxValue)
    {
        long handled = 0;
        while (handled < maxMessages)
        {
            if (_readyCount == 0 && (_timers.Count == 0 || _timers.PeekDue > untilNs)) break;
            if (!RunOne()) break;
            handled++;
        }
        return handled;
    }

    internal void Enqueue(int targetId, in Envelope envelope)
    {
        ActorCell cell = _cells[targetId];
        if (!cell.IsAlive)
        {
            DeadLetters++;
            return;
        }
        cell.Mailbox.Enqueue(in envelope);
        if (cell.ReadyIndex < 0) AddReady(cell);
    }

    internal void ScheduleTimer(ActorCell cell, int slot, int generation, long delayNs, in Envelope envelope) =>
        PushTimer(cell.Id, slot, generation, delayNs, envelope);

    internal ActorCell CreateCell(Props props, string name, ActorCell? parent, bool start = true)
    {
        List<ActorCell> siblings = parent?.Children ?? _topLevel;
        // By name, not by scanning: a run creates thousands of mm actors side by side.
        Dictionary<string, ActorCell> byName = parent?.ChildrenByName ?? _topLevelByName;
        if (byName.TryGetValue(name, out ActorCell? existing) && existing.IsAlive)
        {
            throw new InvalidOperationException($"an actor named '{name}' already exists under {parent?.Self.Path ?? "/user"}");
        }
        var cell = new ActorCell(this, _cells.Count, name, props, parent);
        _cells.Add(cell);
        siblings.Add(cell);
        byName[name] = cell;
        cell.CreateInstance();
        if (start) Guarded(cell, null, static c => c.Actor.AroundPreStart());
        return cell;
    }

    internal void StopCell(ActorCell cell)
    {
        if (!cell.IsAlive) return;
        foreach (ActorCell child in cell.Children.ToArray()) StopCell(child);
        cell.IsAlive = false;
        cell.CancelAll();
        if (cell.ReadyIndex >= 0) RemoveReady(cell);
        DeadLetters += cell.Mailbox.Count;
        cell.Mailbox.Clear();
        (cell.ParentCell?.Children ?? _topLevel).Remove(cell);
        Dictionary<string, ActorCell> byName = cell.ParentCell?.ChildrenByName ?? _topLevelByName;
        if (byName.TryGetValue(cell.Name, out ActorCell? named) && named == cell) byName.Remove(cell.Name);
        cell.Actor.InvokePostStop();
    }

    /// <summary>Every cell ever created, by creation index (dead ones included).</summary>
    internal int CellCount => _cells.Count;

    internal ActorCell CellAt(int index) => _cells[index];

    /// <summary>Live actors in creation order (for state hashing and replay).</summary>
    internal IEnumerable<ActorCell> LiveCells()
    {
        foreach (ActorCell c in _cells)
        {
            if (c.IsAlive) yield return c;
        }
    }

    private void Deliver(ActorCell cell, ref Envelope envelope)
    {
        DeliveredMessages++;
        cell.CurrentSender = envelope.SenderId >= 0 ? _cells[envelope.SenderId].Self : ActorRef.NoSender;
        Handler? handler = cell.Handlers.Find(envelope.TypeId);
        try
        {
            if (handler is not null) handler.Invoke(ref envelope);
            else cell.Actor.InvokeUnhandled(envelope.Box());
        }
        catch (Exception e)
        {
            Fail(cell, e, envelope.Box());
        }
    }

    private void Guarded(ActorCell cell, object? message, Action<ActorCell> action)
    {
        try
        {
            action(cell);
        }
        catch (Exception e)
        {
            Fail(cell, e, message);
        }
    }

    /// <summary>Applies the parent's strategy to a failed actor; escalation climbs to the guardian and halts.</summary>
    private void Fail(ActorCell cell, Exception failure, object? message)
    {
        if (_halted is not null) return;
        SupervisorStrategy strategy = cell.ParentCell?.StrategyForChildren ?? GuardianStrategy;
        switch (strategy.Handle(cell, failure, NowNs))
        {
            case Directive.Resume:
                break;
            case Directive.Restart:
                Restart(cell, failure, message);
                break;
            case Directive.Stop:
                StopCell(cell);
                break;
            case Directive.Escalate:
                if (cell.ParentCell is null) _halted = failure;
                else Fail(cell.ParentCell, failure, message);
                break;
        }
    }

    private void Restart(ActorCell cell, Exception failure, object? message)
    {
        Restarts++;
        try
        {
            cell.Actor.InvokePreRestart(failure, message);
        }
        catch (Exception)
        {
            // A failing PreRestart must not stop the restart (Akka logs and continues).
        }
        cell.CancelAll();
        cell.CreateInstance();
        Guarded(cell, message, c => c.Actor.AroundPostRestart(failure));
    }

    private void PushTimer(int targetId, int slot, int generation, long delayNs, in Envelope envelope)
    {
        var entry = new TimerEntry
        {
            DueNs = NowNs + delayNs,
            Seq = _timerSeq++,
            TargetId = targetId,
            TimerSlot = slot,
            TimerGeneration = generation,
            Envelope = envelope,
        };
        _timers.Push(in entry);
    }

    /// <summary>Moves the clock to the earliest due time and releases every entry due then.</summary>
    private void ReleaseDueTimers()
    {
        long due = _timers.PeekDue;
        Invariant.Assert(due >= NowNs, "virtual time never goes back");
        NowNs = due;
        while (_timers.Count > 0 && _timers.PeekDue == due)
        {
            TimerEntry e = _timers.Pop();
            if (e.TimerSlot >= 0)
            {
                ActorCell cell = _cells[e.TargetId];
                if (!cell.TryFireTimer(e.TimerSlot, e.TimerGeneration, out long nextDelayNs)) continue;
                if (nextDelayNs > 0) PushTimer(e.TargetId, e.TimerSlot, e.TimerGeneration, nextDelayNs, e.Envelope);
            }
            Enqueue(e.TargetId, in e.Envelope);
        }
    }

    private void AddReady(ActorCell cell)
    {
        if (_readyCount == _ready.Length) Array.Resize(ref _ready, _ready.Length * 2);
        cell.ReadyIndex = _readyCount;
        _ready[_readyCount++] = cell.Id;
    }

    /// <summary>Swap-remove; O(1). The order of the ready list is deterministic, so picks are too.</summary>
    private void RemoveReady(ActorCell cell)
    {
        int i = cell.ReadyIndex;
        int lastId = _ready[--_readyCount];
        _ready[i] = lastId;
        _cells[lastId].ReadyIndex = i;
        cell.ReadyIndex = -1;
    }
}

/// <summary>A failure escalated past the top-level actors; the run cannot continue.</summary>
public sealed class SimulationHaltedException(Exception cause)
    : Exception($"simulation halted: {cause.Message}", cause);
