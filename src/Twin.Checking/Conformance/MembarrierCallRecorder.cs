using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;
using Twin.Persistence.Codec;

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
    /// <summary>Not known: on a trace, the CPU has logged no line yet (its ring buffer began later, or events were lost).</summary>
    Unseen,
}

/// <summary>
/// One membarrier call as an event stream shows it: the machine when it began (each CPU's
/// rq->curr class, the caller's mm state and users), the CPUs its callback was queued for or run
/// on locally, its return, and what makes parts of it uncertain on a trace (CPUs that switched
/// tasks inside it or right after it, lost events, exiting tasks).
/// </summary>
public sealed class RecordedCall
{
    public long Line, ReturnLine, TimeNs, ReturnNs;
    public int Cpu, Task, Mm, Cmd, Flags, CpuId, Cpus;
    public long Ret;
    public int MmState, MmUsers;
    /// <summary>The registration bits the call depends on were known when it began.</summary>
    public bool MmKnown;
    /// <summary>They were not, and only this call's own return proves them (a process that began before the trace).</summary>
    public bool StateFromReturn;
    public CpuRunning[] Running = [];
    /// <summary>Per CPU: the mm of a task of another process, its membarrier state, and whether the trace knows that state (for a CPU running the caller's process, whether it knows the caller's GLOBAL_EXPEDITED registration).</summary>
    public int[] RunningMm = [], RunningMmState = [];
    public bool[] RunningMmKnown = [];
    /// <summary>CPUs the command's callback was queued for (csd) or run on locally by the caller.</summary>
    public ulong Ipis;
    /// <summary>The callbacks sent or run, as bits 1 &lt;&lt; IpiKind.</summary>
    public int Kinds;
    /// <summary>
    /// CPUs that switched (or changed tasks) inside the call; of those, the ones that ran a task of
    /// another class than at the entry (so membarrier may have read either); lost events; ran an
    /// exiting task; switched right after the return, and to a task of another class.
    /// </summary>
    public ulong Switched, Mixed, Lost, Exiting, SwitchedAtReturn, MixedAtReturn, Unsettled;
    /// <summary>CPUs whose rq->membarrier_state the stream shows cleared by exit_mm() and kept so by same-mm switches (B21's path), with the exiting task.</summary>
    public ulong CopyCleared;
    public int[] ClearedBy = [];
    internal int[] Class = [];
    internal bool Returned;
}

/// <summary>
/// Records every membarrier call of an event stream, from a simulation and a trace's
/// reconstruction alike: only observes. A call is handed on once each other CPU showed what it
/// ran after the return (its first later event; a sched_switch there leaves the CPU uncertain, as
/// __schedule() sets rq->curr before the tracepoint), or at <see cref="Finish"/>. On a trace, a
/// CPU is unknown until its first line, and a process's registrations are what its calls prove
/// (<see cref="RegistrationKnowledge"/>).
/// </summary>
public sealed class MembarrierCallRecorder(Action<RecordedCall> onCall) : EventTap
{
    private readonly KernelView _view = new();
    private readonly Dictionary<int, RecordedCall> _open = [];
    private readonly List<RecordedCall> _returned = [];
    private readonly RegistrationKnowledge _registrations = new();
    private readonly HashSet<int> _exiting = [];
    private readonly Dictionary<string, int> _cpuOfStream = new(StringComparer.Ordinal);
    private int[] _curr = [];
    /// <summary>Per CPU: the mm whose state rq->membarrier_state copies (0 unknown), and the task whose exit_mm() cleared it since.</summary>
    private int[] _copyMm = [], _clearedBy = [];
    private ulong _lostSince;
    /// <summary>A trace's reconstruction says what each line showed (ContextSeen); a simulation never does, and its CPUs are known from boot.</summary>
    private bool _trace;

    /// <summary>On a trace: whether a task is inside an exec whose sched_process_exec is still ahead (its mm may already be the new one).</summary>
    public Func<int, bool>? InExec { get; set; }

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (_returned.Count > 0) Settle(in meta, in evt);
        if (KernelView.Is(in evt, out MembarrierEntered e)) Enter(in meta, e);
        else if (KernelView.Is(in evt, out IpiSent s) && IsMembarrierIpi(s.Kind)) Sent(s.From, s.To, s.Kind);
        else if (KernelView.Is(in evt, out IpiHandled h))
        {
            if (h.Ipi == 0 && h.From == h.Cpu && IsMembarrierIpi(h.Kind)) Sent(h.Cpu, h.Cpu, h.Kind);
            if (h.Kind == IpiKind.SyncRqState && h.Cpu < _clearedBy.Length) _clearedBy[h.Cpu] = 0; // ipi_sync_rq_state() copies the mm's state again
        }
        else if (KernelView.Is(in evt, out SchedSwitched sw)) Runs(sw.Cpu, sw.Next, switched: true);
        else if (KernelView.Is(in evt, out ContextSeen cs))
        {
            _trace = true;
            Runs(cs.Cpu, cs.Task, switched: false);
        }
        else if (KernelView.Is(in evt, out MembarrierExited x)) Exit(in meta, x);
        else if (KernelView.Is(in evt, out StateUnknown u)) Unknown(u);
        else if (KernelView.Is(in evt, out MmCreated mc)) _registrations.Created(mc.Mm, mc.MembarrierState);
        else if (KernelView.Is(in evt, out TaskMmChanged tm) && tm.Reason == MmChangeReason.ExitMm) Exits(tm.Task);
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
            Cpus = cpus, MmState = _registrations.State(e.Mm), MmUsers = _view.MmUsers(e.Mm),
            MmKnown = e.Mm > 0 && _registrations.Knows(e.Mm, RegistrationKnowledge.Relevant(e.Cmd, e.Flags)),
            Running = new CpuRunning[cpus], RunningMm = new int[cpus], RunningMmState = new int[cpus], RunningMmKnown = new bool[cpus], Class = new int[cpus],
            ClearedBy = new int[cpus],
        };
        for (int c = 0; c < cpus; c++)
        {
            int curr = c == e.Cpu ? e.Task : CurrOf(c);
            if (curr == int.MinValue)
            {
                call.Running[c] = CpuRunning.Unseen;
                call.Class[c] = -1;
                continue;
            }
            call.Running[c] = ClassOf(curr, e.Mm);
            call.Class[c] = Class(call, curr);
            if (_exiting.Contains(curr) || InExec?.Invoke(curr) == true) call.Exiting |= Bit(c);
            if (c < _clearedBy.Length && _clearedBy[c] != 0 && _copyMm[c] == _view.TaskMm(curr))
            {
                call.CopyCleared |= Bit(c);
                call.ClearedBy[c] = _clearedBy[c];
            }
            // GLOBAL_EXPEDITED IPIs a CPU for the registration of the process it runs, the caller's own included.
            if (call.Running[c] == CpuRunning.CallerMm && c != e.Cpu)
            {
                call.RunningMmState[c] = _registrations.State(e.Mm);
                call.RunningMmKnown[c] = _registrations.Knows(e.Mm, MembarrierState.GlobalExpeditedReady);
            }
            if (call.Running[c] != CpuRunning.OtherMm) continue;
            int mm = _view.TaskMm(curr);
            call.RunningMm[c] = mm;
            call.RunningMmState[c] = _registrations.State(mm);
            call.RunningMmKnown[c] = _registrations.Knows(mm, MembarrierState.GlobalExpeditedReady);
        }
        _open[e.Task] = call;
    }

    private CpuRunning ClassOf(int task, int callerMm)
    {
        int mm = _view.TaskMm(task);
        return KernelIds.IsIdle(task) ? CpuRunning.Idle
            : mm == KernelIds.None ? CpuRunning.Kthread
            : mm == callerMm ? CpuRunning.CallerMm
            : CpuRunning.OtherMm;
    }

    /// <summary>
    /// What decides whether the call's command IPIs a CPU running <paramref name="task"/>: its class,
    /// and for GLOBAL_EXPEDITED and another process whether that process is registered (unknown: -1,
    /// never equal to anything); an exiting task is unknown too (exit_mm() runs at a point no
    /// tracepoint shows).
    /// </summary>
    private int Class(RecordedCall call, int task)
    {
        if (_exiting.Contains(task) || InExec?.Invoke(task) == true) return -1;
        CpuRunning r = ClassOf(task, call.Mm);
        if (r is not (CpuRunning.OtherMm or CpuRunning.CallerMm) || call.Cmd != MembarrierCmd.GlobalExpedited) return (int)r;
        int mm = _view.TaskMm(task);
        if (!_registrations.Knows(mm, MembarrierState.GlobalExpeditedReady)) return -1;
        return (_registrations.State(mm) & MembarrierState.GlobalExpeditedReady) != 0 ? 10 : 11;
    }

    /// <summary>
    /// The CPU runs <paramref name="task"/>: after a sched_switch, or because a line of the task
    /// shows it running (a trace can miss the switch: a wakeup from idle whose sched_switch is
    /// not there). A change inside a call means the trace does not show when rq->curr changed;
    /// to a task of another class, that membarrier may have read either.
    /// </summary>
    private void Runs(int cpu, int task, bool switched)
    {
        if (cpu >= _curr.Length)
        {
            int old = _curr.Length;
            Array.Resize(ref _curr, cpu + 1);
            Array.Resize(ref _copyMm, cpu + 1);
            Array.Resize(ref _clearedBy, cpu + 1);
            for (int c = old; c <= cpu; c++) _curr[c] = int.MinValue;
        }
        bool changed = switched || (_curr[cpu] != int.MinValue && _curr[cpu] != task);
        if ((_lostSince & Bit(cpu)) != 0) _registrations.Forget(_view.TaskMm(task));
        _lostSince &= ~Bit(cpu);
        _curr[cpu] = task;
        // membarrier_switch_mm(rq, prev->active_mm, next->mm): a user task of another mm sets the copy.
        int mm = _view.TaskMm(task);
        if (changed && mm > 0 && mm != _copyMm[cpu])
        {
            _copyMm[cpu] = mm;
            _clearedBy[cpu] = 0;
        }
        if (!changed) return;
        foreach (RecordedCall c in _open.Values)
        {
            c.Switched |= Bit(cpu);
            if (cpu >= c.Class.Length || c.Class[cpu] < 0 || Class(c, task) != c.Class[cpu]) c.Mixed |= Bit(cpu);
        }
    }

    /// <summary>sched_process_exit: current->mm goes NULL in exit_mm(), after the line; until its last switch the task is neither.</summary>
    private void Exits(int task)
    {
        _exiting.Add(task);
        for (int cpu = 0; cpu < _curr.Length; cpu++)
        {
            if (_curr[cpu] != task) continue;
            foreach (RecordedCall c in _open.Values) c.Exiting |= Bit(cpu);
            _clearedBy[cpu] = task; // exit_mm(): membarrier_update_current_mm(NULL), active_mm still the mm
        }
    }

    private int CurrOf(int cpu) => cpu < _curr.Length && _curr[cpu] != int.MinValue ? _curr[cpu] : _trace ? int.MinValue : _view.Curr[cpu];

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
        if (!_open.Remove(x.Task, out RecordedCall? call))
        {
            _registrations.ForgetClear(_view.TaskMm(x.Task)); // the call's entry was lost: a REGISTER, for all the stream shows
            return;
        }
        call.Ret = x.Ret;
        call.ReturnLine = meta.EventIndex;
        call.ReturnNs = meta.TimestampNs;
        call.Returned = true;
        if (call.Mm > 0)
        {
            _registrations.Returned(call.Mm, call.Cmd, call.Flags, x.Ret);
            if (!call.MmKnown && _registrations.Knows(call.Mm, RegistrationKnowledge.Relevant(call.Cmd, call.Flags)))
            {
                call.StateFromReturn = true;
                call.MmState = _registrations.State(call.Mm);
            }
        }
        ulong all = call.Cpus >= 64 ? ulong.MaxValue : (1UL << call.Cpus) - 1;
        call.Unsettled = all & ~Bit(call.Cpu) & ~call.Switched & ~call.Lost;
        if (call.Unsettled == 0) onCall(call);
        else _returned.Add(call);
    }

    private void Unknown(StateUnknown u)
    {
        if (u.Scope == UnknownScope.Mm)
        {
            _registrations.Forget(u.Id);
            return;
        }
        if (u.Id < _curr.Length)
        {
            // A LOST marker or an unparsed line: the task around it may have registered, or exec'd, in the
            // lost window. A gap (a missing sched_switch) hides no syscall of the trace's processes.
            if (u.Scope == UnknownScope.Cpu)
            {
                if (_curr[u.Id] != int.MinValue) _registrations.Forget(_view.TaskMm(_curr[u.Id]));
                _lostSince |= Bit(u.Id);
            }
            _curr[u.Id] = int.MinValue;
            _copyMm[u.Id] = 0;
            _clearedBy[u.Id] = 0;
        }
        foreach (RecordedCall c in _open.Values) c.Lost |= Bit(u.Id) | (c.Cpu == u.Id ? ulong.MaxValue : 0);
        foreach (RecordedCall c in _returned)
        {
            if ((c.Unsettled & Bit(u.Id)) == 0) continue;
            c.Unsettled &= ~Bit(u.Id);
            c.Lost |= Bit(u.Id);
        }
    }

    /// <summary>A CPU's first event after a call's return: a switch leaves it uncertain (unless to a task of the same class), anything else later than the return settles it.</summary>
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
            if (switched)
            {
                c.SwitchedAtReturn |= Bit(cpu);
                if (cpu >= c.Class.Length || c.Class[cpu] < 0 || Class(c, sw.Next) != c.Class[cpu]) c.MixedAtReturn |= Bit(cpu);
            }
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
