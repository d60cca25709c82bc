using Twin.Actors.Persistence;
using Twin.Checking.Memory;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Checking.Monitors;

/// <summary>
/// P-OBS: membarrier's promise as the user threads observe it, from the values their loads read in
/// the store-buffer memory (<see cref="StoreBufferMemory"/>; litmus scenarios and
/// <c>memory.weak</c>). A PRIVATE_EXPEDITED (or _SYNC_CORE, or _RSEQ for every CPU) call that
/// returns 0 promises that every other thread of the caller's mm (for GLOBAL_EXPEDITED: of every
/// process registered when the call began) "passed through a state where all memory accesses to
/// user-space addresses match program order between entry to and return from the system call":
/// a point p in the thread's program, inside the call, that acts as a full barrier paired with the
/// caller's. So a load of the thread after p sees the caller's stores from before the call, and a
/// store of the thread before p is seen by the caller's loads after the call. The monitor asks
/// whether such a p exists: a stale load at event i needs p after i, a store at event j the caller
/// did not see needs p before j; none exists when a stale load comes at or after such a store,
/// after the return, or such a store before the entry (the store-buffering outcome of scenarios A
/// and B, whatever barrier let it through). Loads served from the CPU's own store buffer say
/// nothing about other CPUs and are skipped.
/// </summary>
public sealed class ObservedOrderMonitor(StoreBufferMemory memory) : Monitor, IMemoryObserver
{
    private const int MaxTracked = 16;

    /// <summary>Each task's last store to each variable it wrote (the newest few).</summary>
    private readonly Dictionary<int, List<(int Var, long Store)>> _lastStores = [];
    private readonly List<Call> _calls = [];

    public override string Property => "P-OBS";

    public override string Guarantee =>
        "membarrier(2): upon return from the system call, the calling thread has a guarantee that all its running thread siblings " +
        "(GLOBAL_EXPEDITED: all running threads of registered processes) have passed through a state where all memory accesses to " +
        "user-space addresses match program order between entry to and return from the system call";

    private sealed class Call
    {
        public int Caller;
        public int Cpu;
        public int Mm;
        public int Cmd;
        public HashSet<int>? GlobalMms;
        public long Entered;
        public long Exited = long.MaxValue;
        public long ExitedNs = long.MaxValue;
        public (int Var, long Store)[] Before = [];
        public readonly Dictionary<int, Sides> Threads = [];
    }

    /// <summary>What one thread did during a call: its latest stale load and its earliest store the caller missed.</summary>
    private struct Sides
    {
        public long StaleLoad;
        public int StaleVar;
        public long StaleOf;
        public long HiddenStore;
        public int HiddenVar;
        public long HiddenFrom;
        public bool Reported;

        public static Sides New => new() { HiddenStore = long.MaxValue };
    }

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out MembarrierEntered me))
        {
            Retire(meta.TimestampNs);
            bool flagCpu = (me.Flags & MembarrierCmd.FlagCpu) != 0;
            bool priv = me.Cmd is MembarrierCmd.PrivateExpedited or MembarrierCmd.PrivateExpeditedSyncCore
                || (me.Cmd == MembarrierCmd.PrivateExpeditedRseq && !flagCpu);
            if (!priv && me.Cmd != MembarrierCmd.GlobalExpedited) return;
            _calls.Add(new Call
            {
                Caller = me.Task, Cpu = me.Cpu, Mm = me.Mm, Cmd = me.Cmd, Entered = meta.EventIndex,
                GlobalMms = priv ? null : View.MmsWith(MembarrierState.GlobalExpeditedReady),
                Before = _lastStores.TryGetValue(me.Task, out var stores) ? [.. stores] : [],
            });
        }
        else if (Is(in evt, out MembarrierExited mx))
        {
            for (int i = 0; i < _calls.Count; i++)
            {
                Call c = _calls[i];
                if (c.Caller != mx.Task || c.Exited != long.MaxValue) continue;
                if (mx.Ret != 0)
                {
                    _calls.RemoveAt(i);
                    return;
                }
                c.Exited = meta.EventIndex;
                c.ExitedNs = meta.TimestampNs;
                return;
            }
        }
    }

    public void Stored(in EventMeta meta, in UserStored store)
    {
        if (!_lastStores.TryGetValue(store.Task, out var list)) _lastStores[store.Task] = list = new List<(int, long)>(4);
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i].Var != store.Var) continue;
            list[i] = (store.Var, meta.EventIndex);
            return;
        }
        if (list.Count == MaxTracked) list.RemoveAt(0);
        list.Add((store.Var, meta.EventIndex));
    }

    public void Loaded(in EventMeta meta, in UserLoaded load, in LoadedValue value)
    {
        if (value.OwnBuffer || _calls.Count == 0) return;
        int mm = View.TaskMm(load.Task);
        foreach (Call c in _calls)
        {
            if (load.Task == c.Caller)
            {
                if (meta.EventIndex > c.Exited) CallerLoad(c, in meta, in load, in value);
            }
            else if (meta.EventIndex > c.Entered && Covers(c, mm))
            {
                SiblingLoad(c, in meta, in load, in value);
            }
        }
    }

    private static bool Covers(Call c, int mm) => c.GlobalMms is null ? mm == c.Mm : c.GlobalMms.Contains(mm);

    /// <summary>The caller, after the call, reads a variable: a covered thread's store from before the return that it does not see bounds that thread's p from above.</summary>
    private void CallerLoad(Call c, in EventMeta meta, in UserLoaded load, in LoadedValue value)
    {
        Span<(long Store, int Task)> hidden = stackalloc (long, int)[32];
        int n = memory.Hidden(load.Var, value.AsOfNs, hidden);
        for (int i = 0; i < n; i++)
        {
            (long store, int writer) = hidden[i];
            if (writer == c.Caller || store > c.Exited || !Covers(c, View.TaskMm(writer))) continue;
            Sides s = c.Threads.GetValueOrDefault(writer, Sides.New);
            if (store >= s.HiddenStore) continue;
            s.HiddenStore = store;
            s.HiddenVar = load.Var;
            s.HiddenFrom = meta.EventIndex;
            Evaluate(c, writer, ref s, in meta, load.Cpu);
            c.Threads[writer] = s;
        }
    }

    /// <summary>A covered thread reads a variable the caller wrote before the call without seeing that store: its p comes after this load.</summary>
    private void SiblingLoad(Call c, in EventMeta meta, in UserLoaded load, in LoadedValue value)
    {
        foreach ((int var, long before) in c.Before)
        {
            if (var != load.Var) continue;
            if (memory.IsVisible(var, before, value.AsOfNs)) return;
            Sides s = c.Threads.GetValueOrDefault(load.Task, Sides.New);
            s.StaleLoad = meta.EventIndex;
            s.StaleVar = var;
            s.StaleOf = before;
            Evaluate(c, load.Task, ref s, in meta, load.Cpu);
            c.Threads[load.Task] = s;
            return;
        }
    }

    /// <summary>Reports the thread when no point between the call's entry and return fits both bounds.</summary>
    private void Evaluate(Call c, int task, ref Sides s, in EventMeta meta, int cpu)
    {
        if (s.Reported) return;
        long low = Math.Max(c.Entered, s.StaleLoad);
        long high = Math.Min(c.Exited, s.HiddenStore);
        if (low < high) return;
        s.Reported = true;
        var parts = new List<string>(2);
        if (s.HiddenStore != long.MaxValue)
        {
            parts.Add($"it stored variable #{s.HiddenVar} at event {s.HiddenStore}{(s.HiddenStore < c.Entered ? ", before the call," : "")} and task {c.Caller}'s load of it at event {s.HiddenFrom}, after the call returned, did not see that store");
        }
        if (s.StaleLoad != 0)
        {
            parts.Add($"it loaded variable #{s.StaleVar} at event {s.StaleLoad}{(s.StaleLoad > c.Exited ? ", after the call returned," : "")} without seeing task {c.Caller}'s store at event {s.StaleOf}, made before the call");
        }
        string exited = c.Exited == long.MaxValue ? "" : $"–{c.Exited}";
        Report(in meta, cpu, c.Mm,
            $"membarrier({MembarrierCmd.Name(c.Cmd)}) by task {c.Caller} on CPU {c.Cpu} (events {c.Entered}{exited}) left task {task} unordered: " +
            string.Join("; and ", parts) + $". No point of task {task} between the call's entry and return can be the barrier membarrier promises (store buffering, scenarios A and B)",
            task: task, windowStart: c.Entered);
    }

    /// <summary>Forgets calls that returned more than two store-buffer lengths ago: every store from before their return is visible to every load since.</summary>
    private void Retire(long nowNs)
    {
        long horizon = 2 * memory.StoreBufferNs;
        _calls.RemoveAll(c => c.ExitedNs != long.MaxValue && nowNs - c.ExitedNs > horizon);
    }
}
