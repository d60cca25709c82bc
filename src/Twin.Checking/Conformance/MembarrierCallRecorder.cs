using Twin.Actors.Persistence;
using Twin.Persistence.Codec;
using Twin.Kernel;
using Twin.Kernel.Events;

namespace Twin.Checking.Conformance;

/// <summary>What a CPU's rq->curr was when a membarrier call began, as membarrier's sampling sees it.</summary>
public enum CpuRunning : byte
{
    Idle,
    /// <summary>A kernel thread (current->mm NULL; a lazy active_mm does not count).</summary>
    Kthread,
    /// <summary>A task whose mm is the caller's (another thread of the process; the caller itself on its own CPU).</summary>
    CallerMm,
    /// <summary>A user task of another process.</summary>
    OtherMm,
}

/// <summary>
/// One membarrier call as an event stream shows it: the machine when it began (each CPU's
/// rq->curr class, the caller's mm state and users), the CPUs its callback was queued for or run
/// on locally, its return, and what makes parts of it uncertain on a trace (CPUs that switched
/// tasks inside it or right after it, lost events).
/// </summary>
public sealed class RecordedCall
{
    public long Line, ReturnLine, TimeNs, ReturnNs;
    public int Cpu, Task, Mm, Cmd, Flags, CpuId, Cpus;
    public long Ret;
    public int MmState, MmUsers;
    public bool MmKnown;
    public CpuRunning[] Running = [];
    /// <summary>Per CPU: the mm of a task of another process, its membarrier state, and whether the trace knows that state.</summary>
    public int[] RunningMm = [], RunningMmState = [];
    public bool[] RunningMmKnown = [];
    /// <summary>CPUs the command's callback was queued for (csd) or run on locally by the caller.</summary>
    public ulong Ipis;
    /// <summary>The callbacks sent or run, as bits 1 &lt;&lt; IpiKind.</summary>
    public int Kinds;
    public ulong Switched, Lost, SwitchedAtReturn, Unsettled;
    internal bool Returned;
}

/// <summary>
/// Records every membarrier call of an event stream, from a simulation and a trace's
/// reconstruction alike: only observes. A call is handed on once each other CPU showed what it
/// ran after the return (its first later event; a sched_switch there leaves the CPU uncertain, as
/// __schedule() sets rq->curr before the tracepoint), or at <see cref="Finish"/>.
/// </summary>
public sealed class MembarrierCallRecorder(Action<RecordedCall> onCall) : EventTap
{
    private readonly KernelView _view = new();
    private readonly Dictionary<int, RecordedCall> _open = [];
    private readonly List<RecordedCall> _returned = [];
    private readonly HashSet<int> _unknownMms = [];
    private readonly Dictionary<string, int> _cpuOfStream = new(StringComparer.Ordinal);
    private int[] _curr = [];

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (_returned.Count > 0) Settle(in meta, in evt);
        if (KernelView.Is(in evt, out MembarrierEntered e)) Enter(in meta, e);
        else if (KernelView.Is(in evt, out IpiSent s) && IsMembarrierIpi(s.Kind)) Sent(s.From, s.To, s.Kind);
        else if (KernelView.Is(in evt, out IpiHandled h) && h.Ipi == 0 && h.From == h.Cpu && IsMembarrierIpi(h.Kind)) Sent(h.Cpu, h.Cpu, h.Kind);
        else if (KernelView.Is(in evt, out SchedSwitched sw)) Runs(sw.Cpu, sw.Next, switched: true);
        else if (KernelView.Is(in evt, out ContextSeen cs)) Runs(cs.Cpu, cs.Task, switched: false);
        else if (KernelView.Is(in evt, out MembarrierExited x)) Exit(in meta, x);
        else if (KernelView.Is(in evt, out StateUnknown u)) Unknown(u);
        _view.OnEvent(in meta, in evt);
    }

    /// <summary>Hands on the calls still waiting for a CPU to show itself (the stream ended).</summary>
    public void Finish()
    {
        foreach (RecordedCall c in _returned) onCall(c);
        _returned.Clear();
    }

    private void Enter(in EventMeta meta, MembarrierEntered e)
    {
        int cpus = Math.Max(_view.Cpus, e.Cpu + 1);
        var call = new RecordedCall
        {
            Line = meta.EventIndex, TimeNs = meta.TimestampNs, Cpu = e.Cpu, Task = e.Task, Mm = e.Mm, Cmd = e.Cmd, Flags = e.Flags, CpuId = e.CpuId,
            Cpus = cpus, MmState = _view.MmState(e.Mm), MmKnown = e.Mm > 0 && !_unknownMms.Contains(e.Mm), MmUsers = _view.MmUsers(e.Mm),
            Running = new CpuRunning[cpus], RunningMm = new int[cpus], RunningMmState = new int[cpus], RunningMmKnown = new bool[cpus],
        };
        for (int c = 0; c < cpus; c++)
        {
            int curr = c == e.Cpu ? e.Task : CurrOf(c);
            int mm = _view.TaskMm(curr);
            call.Running[c] = KernelIds.IsIdle(curr) ? CpuRunning.Idle
                : mm == KernelIds.None ? CpuRunning.Kthread
                : mm == e.Mm ? CpuRunning.CallerMm
                : CpuRunning.OtherMm;
            if (call.Running[c] != CpuRunning.OtherMm) continue;
            call.RunningMm[c] = mm;
            call.RunningMmState[c] = _view.MmState(mm);
            call.RunningMmKnown[c] = !_unknownMms.Contains(mm);
        }
        _open[e.Task] = call;
    }

    /// <summary>
    /// The CPU runs <paramref name="task"/>: after a sched_switch, or because a line of the task
    /// shows it running (a trace can miss the switch: a wakeup from idle whose sched_switch is
    /// not there). A change inside a call means the trace does not show when rq->curr changed.
    /// </summary>
    private void Runs(int cpu, int task, bool switched)
    {
        if (cpu >= _curr.Length)
        {
            int old = _curr.Length;
            Array.Resize(ref _curr, cpu + 1);
            for (int c = old; c <= cpu; c++) _curr[c] = int.MinValue;
        }
        bool changed = switched || (_curr[cpu] != int.MinValue && _curr[cpu] != task);
        _curr[cpu] = task;
        if (!changed) return;
        foreach (RecordedCall c in _open.Values) c.Switched |= Bit(cpu);
    }

    private int CurrOf(int cpu) => cpu < _curr.Length && _curr[cpu] != int.MinValue ? _curr[cpu] : _view.Curr[cpu];

    private void Sent(int from, int to, IpiKind kind)
    {
        foreach (RecordedCall c in _open.Values)
        {
            if (c.Cpu != from) continue;
            c.Ipis |= Bit(to);
            c.Kinds |= 1 << (int)kind;
        }
    }

    private void Exit(in EventMeta meta, MembarrierExited x)
    {
        if (!_open.Remove(x.Task, out RecordedCall? call)) return;
        call.Ret = x.Ret;
        call.ReturnLine = meta.EventIndex;
        call.ReturnNs = meta.TimestampNs;
        call.Returned = true;
        ulong all = call.Cpus >= 64 ? ulong.MaxValue : (1UL << call.Cpus) - 1;
        call.Unsettled = all & ~Bit(call.Cpu) & ~call.Switched & ~call.Lost;
        if (call.Unsettled == 0) onCall(call);
        else _returned.Add(call);
    }

    private void Unknown(StateUnknown u)
    {
        if (u.Scope == UnknownScope.Mm)
        {
            _unknownMms.Add(u.Id);
            return;
        }
        foreach (RecordedCall c in _open.Values) c.Lost |= Bit(u.Id) | (c.Cpu == u.Id ? ulong.MaxValue : 0);
        foreach (RecordedCall c in _returned)
        {
            if ((c.Unsettled & Bit(u.Id)) == 0) continue;
            c.Unsettled &= ~Bit(u.Id);
            c.Lost |= Bit(u.Id);
        }
    }

    /// <summary>A CPU's first event after a call's return: a switch leaves it uncertain, anything else later than the return settles it.</summary>
    private void Settle<TEvent>(in EventMeta meta, in TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>
    {
        int cpu;
        bool switched = KernelView.Is(in evt, out SchedSwitched sw);
        if (switched) cpu = sw.Cpu;
        else if (!TryCpuOf(meta.Stream, out cpu)) return;
        for (int i = _returned.Count - 1; i >= 0; i--)
        {
            RecordedCall c = _returned[i];
            if ((c.Unsettled & Bit(cpu)) == 0 || (!switched && meta.TimestampNs <= c.ReturnNs)) continue;
            c.Unsettled &= ~Bit(cpu);
            if (switched) c.SwitchedAtReturn |= Bit(cpu);
            if (c.Unsettled != 0) continue;
            _returned.RemoveAt(i);
            onCall(c);
        }
    }

    private bool TryCpuOf(string stream, out int cpu)
    {
        if (_cpuOfStream.TryGetValue(stream, out cpu)) return cpu >= 0;
        cpu = stream.StartsWith("cpu-", StringComparison.Ordinal) && int.TryParse(stream.AsSpan(4), out int n) ? n : -1;
        _cpuOfStream[stream] = cpu;
        return cpu >= 0;
    }

    private static bool IsMembarrierIpi(IpiKind kind) => kind is IpiKind.Mb or IpiKind.SyncCore or IpiKind.Rseq or IpiKind.SyncRqState;

    private static ulong Bit(int cpu) => cpu is >= 0 and < 64 ? 1UL << cpu : 0;
}
