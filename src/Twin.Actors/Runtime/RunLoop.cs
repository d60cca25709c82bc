using System.Reflection;
using Akka.Actor;
using Akka.Dispatch;

namespace Twin.Actors.Runtime;


/// <summary>
/// The one thread of a run. Akka's dispatcher hands it mailboxes that have work
/// (<see cref="LoopDispatcher"/>); it runs them one message at a time:
/// <list type="number">
/// <item>a mailbox whose next message is Akka's own (system messages, the persistence protocol,
/// logging), or any other runnable Akka schedules, runs at once, first in first out;</item>
/// <item>otherwise, among the mailboxes whose next message is a simulation message, put in
/// canonical order (actor path), the scheduling strategy picks one from the run's seeded source;</item>
/// <item>when nothing is ready, virtual time jumps to the next timer (<see cref="VirtualTimeScheduler"/>).</item>
/// </list>
/// So a persist, its journal round trip and its event handler complete before any other actor of
/// the simulation runs, and the seed alone decides every interleaving.
/// </summary>
public sealed class RunLoop
{
    private readonly Queue<IRunnable> _urgent = new();
    private LoopMessageQueue[] _ready = new LoopMessageQueue[16];
    private int[] _readyOrdinals = new int[16];
    private int _readyCount;
    private int _ownerThread = Environment.CurrentManagedThreadId;
    private bool _booting = true;
    private bool _draining;
    private int _nextOrdinal;
    private Exception? _halted;
    private volatile bool _shuttingDown;
    private readonly System.Collections.Concurrent.ConcurrentQueue<IRunnable> _foreign = new();

    internal RunLoop(VirtualTimeScheduler scheduler, ulong seed, ISchedulingStrategy strategy)
    {
        Scheduler = scheduler;
        Seed = seed;
        Random = new DeterministicRandom(seed);
        Strategy = strategy;
        Persistence = new Journal.RunPersistence(this);
    }

    /// <summary>The run's journal side: storage writer, taps, event count, checkpoints.</summary>
    public Journal.RunPersistence Persistence { get; }

    public ulong Seed { get; }

    /// <summary>The run's one source of randomness.</summary>
    public DeterministicRandom Random { get; }

    public ISchedulingStrategy Strategy { get; }

    public VirtualTimeScheduler Scheduler { get; }

    /// <summary>Virtual time in nanoseconds.</summary>
    public long NowNs => Scheduler.NowNs;

    /// <summary>Simulation messages delivered so far (each one a scheduling choice, or the only one ready).</summary>
    public long SimulationMessages { get; private set; }

    /// <summary>The loop of <paramref name="system"/>, which must have been created with <see cref="SimulationHocon"/>.</summary>
    public static RunLoop Of(ActorSystem system) =>
        (system.Scheduler as VirtualTimeScheduler)?.Loop
        ?? throw new InvalidOperationException($"actor system '{system.Name}' does not run on Twin's run loop (akka.scheduler.implementation)");

    /// <summary>Stops the run: the next call of <see cref="RunOne"/> throws <see cref="SimulationHaltedException"/> with the cause.</summary>
    public void Halt(Exception cause) => _halted ??= cause;

    /// <summary>
    /// One step of the run: one simulation message (picked among the ready mailboxes), or, when
    /// none is ready, the release of the timers due next; then all of Akka's traffic that follows
    /// (persists and their journal round trips, actor starts), so that between steps every
    /// applied event has been journaled. False when nothing is left to do.
    /// </summary>
    /// <exception cref="SimulationHaltedException">an actor failed, or the journal did.</exception>
    public bool RunOne()
    {
        ThrowIfHalted();
        DrainAkka();
        bool ran = RunSimulationMessage() || Scheduler.ReleaseNextDue();
        DrainAkka();
        return ran;
    }

    /// <summary>Runs until idle, until virtual time would pass <paramref name="untilNs"/>, or <paramref name="maxMessages"/> runs.</summary>
    public long Run(long maxMessages = long.MaxValue, long untilNs = long.MaxValue)
    {
        ThrowIfHalted();
        long runs = 0;
        while (runs < maxMessages)
        {
            if (_urgent.Count == 0 && _readyCount == 0 && !(Scheduler.NextDueNs is { } due && due <= untilNs)) break;
            if (!RunOne()) break;
            runs++;
        }
        return runs;
    }

    /// <summary>Runs everything ready without moving virtual time (recovery, replay, shutdown).</summary>
    public void RunUntilQuiet()
    {
        ThrowIfHalted();
        while (RunReady()) ThrowIfHalted();
    }

    /// <summary>Runs Akka's traffic until none is left.</summary>
    private void DrainAkka()
    {
        while (RunAkka()) ThrowIfHalted();
        ThrowIfHalted();
    }

    /// <summary>
    /// One step of a system's termination: foreign work (Akka's shutdown continuations), then what
    /// is ready; no timers, no halting. False when there was nothing to do.
    /// </summary>
    internal bool RunForShutdown()
    {
        _shuttingDown = true;
        bool ran = false;
        while (_foreign.TryDequeue(out IRunnable? run))
        {
            Execute(run);
            ran = true;
        }
        return RunReady() || ran;
    }

    /// <summary>
    /// Ends the boot phase: from now on mailboxes wait for the loop instead of running as they are
    /// handed over. <see cref="SimulationSystem.Create"/> calls it; so must anything else that
    /// creates a system on this loop (a TestKit).
    /// </summary>
    public void EndBoot()
    {
        _booting = false;
        _ownerThread = Environment.CurrentManagedThreadId;
    }

    internal int NextOrdinal() => _nextOrdinal++;

    /// <summary>The dispatcher hands over a runnable: a mailbox that became scheduled, or Akka's own work.</summary>
    internal void Execute(IRunnable run)
    {
        if (Environment.CurrentManagedThreadId != _ownerThread)
        {
            // Only Akka's shutdown may come from another thread; inside a run it would make the
            // run depend on thread timing, so it stops the run instead.
            // Kept for the shutdown, which runs it: Akka marked the mailbox scheduled and waits for that run.
            _foreign.Enqueue(run);
            if (_shuttingDown) return;
            Halt(new InvalidOperationException($"work for the run loop arrived from thread {Environment.CurrentManagedThreadId} ({run.GetType().Name}); a run has one thread"));
            return;
        }
        if (run is Mailbox { MessageQueue: LoopMessageQueue queue } mailbox)
        {
            queue.Mailbox = mailbox;
            if (queue.NextIsSimulation) AddReady(queue);
            else
            {
                queue.State = ReadyState.Urgent;
                _urgent.Enqueue(mailbox);
            }
        }
        else
        {
            _urgent.Enqueue(run);
        }
        if (_booting && !_draining) DrainDuringBoot();
    }

    /// <summary>Akka's own message reached a mailbox that waits for a pick: it runs at once instead.</summary>
    internal void AkkaMessageArrived(LoopMessageQueue queue)
    {
        if (queue.State != ReadyState.Ready) return;
        RemoveReadyAt(IndexOf(queue));
        queue.State = ReadyState.Urgent;
        _urgent.Enqueue(queue.Mailbox!);
    }

    /// <summary>
    /// A message of the model that lacks the <see cref="ISimulationMessage"/> marker would run
    /// in Akka's lane, without a scheduling choice: it stops the run (Akka swallows exceptions
    /// thrown into a sender, so halting is how the mistake gets seen).
    /// </summary>
    internal void CheckNotSimulationType(object message)
    {
        Assembly a = message.GetType().Assembly;
        // A few assemblies ever send Akka's traffic: remember the ones seen, by reference.
        for (int i = 0; i < _akkaAssemblies.Count; i++)
        {
            if (ReferenceEquals(_akkaAssemblies[i], a)) return;
        }
        if (IsAkkaOrSystem(a))
        {
            _akkaAssemblies.Add(a);
            return;
        }
        Halt(new InvalidOperationException(
            $"{message.GetType().FullName} is sent between actors of a run but is not an {nameof(ISimulationMessage)}: it would run without a scheduling choice"));
    }

    private readonly List<Assembly> _akkaAssemblies = [];

    private static bool IsAkkaOrSystem(Assembly a)
    {
        string name = a.GetName().Name ?? "";
        return name.StartsWith("Akka", StringComparison.Ordinal) || name.StartsWith("System.", StringComparison.Ordinal)
            || name == "Twin.Actors";
    }

    private void DrainDuringBoot()
    {
        // ActorSystem.Create waits for its loggers on the calling thread: while booting, handed-over
        // work runs at once (trampolined, first in first out), as a calling-thread dispatcher would.
        _draining = true;
        try
        {
            while (RunReady()) { }
        }
        finally
        {
            _draining = false;
        }
    }

    /// <summary>Runs one urgent runnable, else one picked mailbox; false when none is ready.</summary>
    private bool RunReady() => RunAkka() || RunSimulationMessage();

    /// <summary>Runs the oldest piece of Akka's traffic; false when there is none.</summary>
    private bool RunAkka()
    {
        if (_urgent.Count == 0) return false;
        IRunnable run = _urgent.Dequeue();
        if (run is Mailbox { MessageQueue: LoopMessageQueue queue } mailbox) RunMailbox(mailbox, queue, akkaOnly: true);
        else run.Run();
        return true;
    }

    /// <summary>Picks a mailbox whose next message is a simulation message and runs that message; false when none is ready.</summary>
    private bool RunSimulationMessage()
    {
        if (_readyCount == 0) return false;
        int pick = _readyCount == 1 ? 0 : Strategy.Pick(_readyOrdinals.AsSpan(0, _readyCount), Random);
        LoopMessageQueue picked = _ready[pick];
        RemoveReadyAt(pick);
        SimulationMessages++;
        RunMailbox(picked.Mailbox!, picked, akkaOnly: false);
        return true;
    }

    private static void RunMailbox(Mailbox mailbox, LoopMessageQueue queue, bool akkaOnly)
    {
        queue.State = ReadyState.Running;
        queue.AkkaOnly = akkaOnly;
        queue.Budget = 1;
        mailbox.Run();
        if (queue.State == ReadyState.Running) queue.State = ReadyState.Idle;
    }

    private void AddReady(LoopMessageQueue queue)
    {
        if (_readyCount == _ready.Length)
        {
            Array.Resize(ref _ready, _readyCount * 2);
            Array.Resize(ref _readyOrdinals, _readyCount * 2);
        }
        int at = IndexOf(queue);
        Array.Copy(_ready, at, _ready, at + 1, _readyCount - at);
        Array.Copy(_readyOrdinals, at, _readyOrdinals, at + 1, _readyCount - at);
        _ready[at] = queue;
        _readyOrdinals[at] = queue.Ordinal;
        _readyCount++;
        queue.State = ReadyState.Ready;
    }

    private void RemoveReadyAt(int at)
    {
        _readyCount--;
        Array.Copy(_ready, at + 1, _ready, at, _readyCount - at);
        Array.Copy(_readyOrdinals, at + 1, _readyOrdinals, at, _readyCount - at);
        _ready[_readyCount] = null!;
    }

    /// <summary>Where <paramref name="queue"/> is, or belongs, in the ready list ordered by (path, creation).</summary>
    private int IndexOf(LoopMessageQueue queue)
    {
        int lo = 0, hi = _readyCount;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            LoopMessageQueue m = _ready[mid];
            int c = string.CompareOrdinal(m.Key, queue.Key);
            if (c < 0 || (c == 0 && m.Ordinal < queue.Ordinal)) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private void ThrowIfHalted()
    {
        if (_halted is not null) throw new SimulationHaltedException(_halted);
    }
}

/// <summary>An actor failed, or the journal did: the run cannot continue.</summary>
public sealed class SimulationHaltedException(Exception cause)
    : Exception($"simulation halted: {cause.Message}", cause);
