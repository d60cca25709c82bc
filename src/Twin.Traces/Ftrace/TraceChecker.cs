using System.Runtime.CompilerServices;
using Twin.Checking;
using Twin.Checking.Conformance;
using Twin.Checking.Monitors;
using Twin.Kernel.Membarrier;

namespace Twin.Traces.Ftrace;

/// <summary>
/// Checks membarrier's guarantees on a real kernel trace, where the trace has the information
/// (kernel-model §3.6; the kernel paths in docs/trace-import.md): the IPI side of P-PE, P-SC,
/// P-RSEQ, P-GE and P-REG, and the return values (E-RET) against the same oracle as the
/// simulation's ErrorTableMonitor. A CPU that ran a task that needs the command's callback from the
/// call's entry to its return (<see cref="Needs"/>), and was seen still running one afterwards,
/// must have run the callback (<c>csd_function_entry func=ipi_mb</c>, <c>ipi_sync_core</c>,
/// <c>ipi_rseq</c>, <c>ipi_sync_rq_state</c>) in between. A switch inside the call or right after
/// it leaves the CPU undecidable (the trace does not show when membarrier read its rq->curr)
/// unless every task on both sides of every switch needs the callback: then whichever rq->curr
/// membarrier read needed it. What the trace does not show (before a CPU's first line, a lost
/// window, a line that did not parse, a task change with no sched_switch, the registrations of a
/// process that began before the trace) makes a case undecidable, never a violation.
/// </summary>
public sealed class TraceChecker : ITraceSink
{
    /// <summary>Why a case is undecidable, as the report says it.</summary>
    public const string SwitchedInside = "the CPU switched to or from a task that does not need the callback inside the call: the trace does not show when membarrier read its rq->curr";
    public const string SwitchedAtReturn = "the CPU's first event after the return is a sched_switch to a task that does not need the callback: __schedule() sets rq->curr before the tracepoint, so the switch may have begun inside the call";
    public const string NotYetSettled = "the trace ends before the CPU shows what it ran after the return";
    public const string StateBeforeTrace = "the process began before the trace and no call of it has shown the registration this one depends on";
    public const string OwnReturn = "the process began before the trace: this call's own return is the only evidence of the registration it depends on";
    public const string MachineUnknown = "the answer depends on the machine's configuration (nohz_full), which no QUERY in the trace has shown yet";
    public const string MachineConfig = "QUERY answers with the kernel's configuration (nohz_full, the commands it has), which the trace cannot check";
    public const string LostEvents = "events of the CPU were lost inside the call or before it showed what it ran after it (a LOST marker, a line that did not parse, or a task change with no sched_switch)";
    public const string Exiting = "the task began exiting inside the call: exit_mm() clears current->mm after the sched_process_exit line, where no tracepoint shows";

    private readonly Dictionary<int, int> _tgidOf = [];
    private readonly RegistrationKnowledge _registrations = new();
    private int _lastPid = int.MinValue, _lastTgid;
    private CpuLine[] _cpus = [];
    private readonly Dictionary<int, Call> _calls = [];
    private readonly List<Unsettled> _unsettled = [];
    private readonly ErrorTableMonitor _oracle = new(new MachineFacts(64, NohzFull: false));
    private readonly ErrorTableMonitor _nohzOracle = new(new MachineFacts(64, NohzFull: true));
    private bool? _nohzFull;
    private readonly HashSet<int> _kthreads;
    private readonly HashSet<int> _exited = [];

    public TraceChecker(IReadOnlySet<int>? kthreads = null) => _kthreads = kthreads is null ? [] : [.. kthreads];

    public SortedDictionary<string, PropertyTally> Properties { get; } = new(StringComparer.Ordinal)
    {
        ["P-PE"] = new(), ["P-SC"] = new(), ["P-RSEQ"] = new(), ["P-GE"] = new(), ["P-REG"] = new(), ["E-RET"] = new(),
    };

    /// <summary>What a CPU's lines show: its rq->curr (unknown until its first line) and the prev of a switch whose tail it is in.</summary>
    private struct CpuLine
    {
        public int Curr, TailOf;
        /// <summary>Lines of the CPU were lost since its last line: the next task it shows may have registered or exec'd in them.</summary>
        public bool LostSince;
        /// <summary>rq->membarrier_state as the trace shows it was last set on this CPU (see <see cref="CopyCleared"/>).</summary>
        public int CopyMmOf, ClearedBy;
        public long ClearedAt;
    }

    private sealed record Unsettled(Call Call, string Property, int Cpu, int Task, long ReturnLine, long ReturnNs, int ReturnCpu);

    private sealed class Call
    {
        public int Cpu, Tgid, Cmd, Flags, CpuId;
        public long Line;
        /// <summary>CPUs running a task that needs the callback at the entry; those that ran it; switched; ran a task that does not need it, or an exiting one; lost events.</summary>
        public ulong Required, Ran, Switched, Mixed, Lost;
        public bool StateUnknown;
    }

    /// <summary>Reads a <c>.tasks</c> side file (<c>pid tgid kthread comm</c>): tgids and kernel threads of tasks alive at the end.</summary>
    public static (Dictionary<int, int> Tgids, HashSet<int> Kthreads) ReadTasksFile(string path)
    {
        var tgids = new Dictionary<int, int>();
        var kthreads = new HashSet<int>();
        foreach (string line in File.ReadLines(path))
        {
            if (line.StartsWith('#')) continue;
            string[] f = line.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 3 || !int.TryParse(f[0], out int pid) || !int.TryParse(f[1], out int tgid)) continue;
            tgids[pid] = tgid;
            if (f[2] == "1") kthreads.Add(pid);
        }
        return (tgids, kthreads);
    }

    public void LearnTgids(IReadOnlyDictionary<int, int> tgids)
    {
        foreach ((int pid, int tgid) in tgids) _tgidOf.TryAdd(pid, tgid);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnEvent(in TraceRecord r)
    {
        if (r.Kind == TraceEventKind.Lost)
        {
            if (r.Cpu >= 0) Lost(r.Cpu);
            else for (int c = 0; c < _cpus.Length; c++) Lost(c);
            return;
        }
        if (r.Tgid > 0 && (r.Pid != _lastPid || r.Tgid != _lastTgid))
        {
            // Lines of one task come in runs: one dictionary write a run, not a line.
            _lastPid = r.Pid;
            _lastTgid = r.Tgid;
            _tgidOf[r.Pid] = r.Tgid;
        }
        // The calls' masks hold 64 CPUs: a CPU beyond is not followed, its calls still are.
        if (r.Cpu < 64)
        {
            ref CpuLine cpu = ref Line(r.Cpu);
            if (_unsettled.Count > 0) Settle(in r, in cpu);
            NoteRunning(r.Cpu, ref cpu, r.Pid);
            if (r.Kind == TraceEventKind.SchedSwitch) Switch(r.Cpu, ref cpu, r.Task, r.Other);
        }
        switch (r.Kind)
        {
            case TraceEventKind.SchedProcessExit:
                // sched_process_exit fires before exit_mm() (kernel/exit.c since 6.16): current->mm goes NULL soon after.
                _exited.Add(r.Task);
                foreach (Call c in _calls.Values) c.Mixed |= c.Required & Bit(r.Cpu);
                CopyCleared(r.Cpu, r.Task, r.Line); // exit_mm()'s membarrier_update_current_mm(NULL)
                break;
            case TraceEventKind.SchedProcessExec:
                _registrations.Exec(TgidOf(r.Pid)); // membarrier_exec_mmap: a fresh mm, nothing registered
                CopySet(r.Cpu, TgidOf(r.Pid));
                break;
            case TraceEventKind.SchedProcessFork:
                int child = TgidOf(r.Other), parent = TgidOf(r.Task);
                if (child != parent && _registrations.Known(child) == 0) _registrations.Copy(child, parent); // dup_mm() copies membarrier_state
                break;
            case TraceEventKind.CsdFunctionEntry:
                if (r.Func == CsdFunc.IpiSyncRqState) CopySet(r.Cpu, TgidOf(r.Pid)); // ipi_sync_rq_state() copies the mm's state
                // A local run (csd NULL) is the caller's own, on whichever CPU it is now: not another CPU's handler.
                if (r.Csd == 0 && _calls.ContainsKey(r.Pid)) break;
                foreach (Call c in _calls.Values)
                {
                    if (r.Func == CallbackOf(c.Cmd)) c.Ran |= Bit(r.Cpu);
                }
                break;
            case TraceEventKind.SysEnterMembarrier:
                Enter(in r);
                break;
            case TraceEventKind.SysExitMembarrier:
                if (_calls.Remove(r.Pid, out Call? call)) Exit(call, in r);
                else _registrations.ForgetClear(TgidOf(r.Pid)); // its entry was lost: a REGISTER, for all the trace shows
                break;
        }
    }

    private ref CpuLine Line(int cpu)
    {
        if (cpu >= _cpus.Length)
        {
            int old = _cpus.Length;
            Array.Resize(ref _cpus, cpu + 1);
            for (int c = old; c <= cpu; c++) _cpus[c] = new CpuLine { Curr = int.MinValue, TailOf = int.MinValue, CopyMmOf = int.MinValue };
        }
        return ref _cpus[cpu];
    }

    /// <summary>
    /// A line's task is the CPU's current one, except in a switch's tail: sched_switch fires after
    /// __schedule() has set rq->curr to next, but lines logged before switch_to() (switch_mm_irqs_off's
    /// "flush on task switch" tlb_flush) still carry prev as current. Any other task is a line the
    /// CPU logged without its sched_switch being in the trace: what happened between is lost.
    /// </summary>
    private void NoteRunning(int c, ref CpuLine cpu, int pid)
    {
        if (cpu.Curr == pid)
        {
            cpu.TailOf = int.MinValue; // next logs: the tail is over
            return;
        }
        if (cpu.TailOf == pid) return;
        if (cpu.Curr != int.MinValue) Lost(c, gap: true);
        if (cpu.LostSince) _registrations.Forget(TgidOf(pid));
        cpu.LostSince = false;
        cpu.TailOf = int.MinValue;
        cpu.Curr = pid;
    }

    /// <summary>context_switch(): rq->curr becomes next; a switch in or out of a task that does not need a call's callback makes the call's read of it undecidable.</summary>
    private void Switch(int c, ref CpuLine cpu, int prev, int next)
    {
        foreach (Call call in _calls.Values)
        {
            call.Switched |= Bit(c);
            if (!Needs(call, prev) || !Needs(call, next)) call.Mixed |= Bit(c);
        }
        // membarrier_switch_mm(rq, prev->active_mm, next->mm): a kernel thread keeps the copy; a user task
        // of another mm than the one the CPU last loaded sets it; one of the same mm leaves it (B21's path).
        if (next != 0 && !_kthreads.Contains(next) && TgidOf(next) != cpu.CopyMmOf) CopySet(c, TgidOf(next));
        cpu.Curr = next;
        cpu.TailOf = prev;
    }

    /// <summary>The CPU's rq->membarrier_state now copies process <paramref name="tgid"/>'s.</summary>
    private void CopySet(int c, int tgid)
    {
        if (c >= _cpus.Length) return;
        _cpus[c].CopyMmOf = tgid;
        _cpus[c].ClearedBy = 0;
    }

    /// <summary>exit_mm() of <paramref name="task"/> cleared the CPU's rq->membarrier_state, active_mm still its mm.</summary>
    private void CopyCleared(int c, int task, long line)
    {
        if (c >= _cpus.Length) return;
        _cpus[c].ClearedBy = task;
        _cpus[c].ClearedAt = line;
    }

    /// <summary>What a CPU did in a lost window is unknown: calls that need it are undecidable, never violated.</summary>
    /// <param name="gap">A task change with no sched_switch: lines were lost, but none of a syscall of the trace's processes.</param>
    private void Lost(int c, bool gap = false)
    {
        foreach (Call call in _calls.Values) call.Lost |= Bit(c) | (call.Cpu == c ? ulong.MaxValue : 0);
        for (int i = _unsettled.Count - 1; i >= 0; i--)
        {
            if (_unsettled[i].Cpu != c) continue;
            PropertyTally tally = Properties[_unsettled[i].Property];
            tally.Known(NotYetSettled);
            tally.Unknown(LostEvents);
            _unsettled.RemoveAt(i);
        }
        if (c < _cpus.Length)
        {
            // The task that ran into a lost window may have registered, or exec'd, in it.
            if (!gap && _cpus[c].Curr != int.MinValue) _registrations.Forget(TgidOf(_cpus[c].Curr));
            _cpus[c].LostSince = !gap;
            _cpus[c].Curr = int.MinValue;
            _cpus[c].TailOf = int.MinValue;
            _cpus[c].CopyMmOf = int.MinValue;
            _cpus[c].ClearedBy = 0;
        }
    }

    /// <summary>
    /// Whether <paramref name="task"/>, as rq->curr, makes the call's command IPI its CPU:
    /// membarrier_private_expedited() (and sync_runqueues_membarrier_state() for a REGISTER) test
    /// p->mm == mm; membarrier_global_expedited() tests rq->membarrier_state, which a user task of a
    /// process registered (READY) for GLOBAL_EXPEDITED carries, and p->mm. An exiting task's mm
    /// goes NULL, and an exec'ing one's is replaced, at a point the trace does not show: neither is
    /// taken to need it.
    /// </summary>
    private bool Needs(Call c, int task)
    {
        if (task <= 0 || _kthreads.Contains(task) || _exited.Contains(task) || InExec?.Invoke(task) == true) return false;
        int tgid = TgidOf(task);
        if (c.Cmd != MembarrierCmd.GlobalExpedited) return tgid == c.Tgid;
        return _registrations.Knows(tgid, MembarrierState.GlobalExpeditedReady) && (_registrations.State(tgid) & MembarrierState.GlobalExpeditedReady) != 0;
    }

    private void Enter(in TraceRecord r)
    {
        int tgid = TgidOf(r.Pid);
        var call = new Call { Cpu = r.Cpu, Tgid = tgid, Cmd = r.Cmd, Flags = r.Flags, CpuId = r.CpuId, Line = r.Line };
        if (IsRegister(r.Cmd))
        {
            // sync_runqueues_membarrier_state() IPIs the CPUs running the mm only on a first
            // registration (an earlier one returns at once), so the state before must be known.
            int ready = Ready(r.Cmd);
            if (!_registrations.Knows(tgid, ready)) call.StateUnknown = true;
            else if ((_registrations.State(tgid) & ready) == ready)
            {
                _calls[r.Pid] = call;
                return;
            }
        }
        for (int c = 0; c < _cpus.Length; c++)
        {
            int pid = _cpus[c].Curr;
            if (c == r.Cpu || pid == int.MinValue) continue;
            if ((r.Flags & MembarrierCmd.FlagCpu) != 0 && c != r.CpuId) continue;
            if (Needs(call, pid)) call.Required |= Bit(c);
        }
        _calls[r.Pid] = call;
    }

    private void Exit(Call call, in TraceRecord r)
    {
        ReturnValue(call, in r);
        if (r.Ret < 0) return;
        string? property = PropertyOf(call.Cmd);
        if (property is null) return;
        PropertyTally tally = Properties[property];
        for (int cpu = 0; cpu < 64; cpu++)
        {
            ulong bit = Bit(cpu);
            if ((call.Required & bit) == 0) continue;
            if ((call.Ran & bit) != 0) tally.Pass();
            else if (call.StateUnknown) tally.Unknown(StateBeforeTrace);
            else if ((call.Lost & bit) != 0) tally.Unknown(LostEvents);
            else if ((call.Mixed & bit) != 0) tally.Unknown((call.Switched & bit) != 0 ? SwitchedInside : Exiting);
            else
            {
                // Every task the CPU ran so far needed the callback: undecidable until it shows it still
                // ran one after the return (see Settle).
                tally.Unknown(NotYetSettled);
                _unsettled.Add(new Unsettled(call, property, cpu, cpu < _cpus.Length ? _cpus[cpu].Curr : int.MinValue, r.Line, r.TimeNs, r.Cpu));
            }
        }
    }

    private static string? PropertyOf(int cmd) => cmd switch
    {
        MembarrierCmd.PrivateExpedited => "P-PE",
        MembarrierCmd.PrivateExpeditedSyncCore => "P-SC",
        MembarrierCmd.PrivateExpeditedRseq => "P-RSEQ",
        MembarrierCmd.GlobalExpedited => "P-GE",
        _ when IsRegister(cmd) => "P-REG",
        _ => null,
    };

    /// <summary>
    /// A required CPU without the callback is a violation only if it still ran a task that needs it
    /// after the call returned: __schedule() sets rq->curr to next before the sched_switch
    /// tracepoint fires, so a switch logged just after the return may have been what membarrier read
    /// (a recording under load showed it: FLAG_CPU's rq->curr check found the next task and sent
    /// nothing). The CPU's first later event decides: a sched_switch to a task that does not need
    /// the callback leaves the case undecidable, one to a task that does confirms the violation (both
    /// sides needed it), as does anything else the same task logs strictly after the return time; a
    /// line of another task with no switch means lines were lost.
    /// </summary>
    private void Settle(in TraceRecord r, in CpuLine line)
    {
        for (int i = _unsettled.Count - 1; i >= 0; i--)
        {
            Unsettled u = _unsettled[i];
            if (u.Cpu != r.Cpu) continue;
            bool switched = r.Kind == TraceEventKind.SchedSwitch;
            if (!switched && r.TimeNs <= u.ReturnNs) continue;
            _unsettled.RemoveAt(i);
            PropertyTally tally = Properties[u.Property];
            tally.Known(NotYetSettled);
            int task = switched ? r.Task : r.Pid;
            if (task != u.Task && !(line.TailOf == r.Pid && !switched))
            {
                tally.Unknown(LostEvents);
                continue;
            }
            if (switched && !Needs(u.Call, r.Other))
            {
                tally.Unknown(SwitchedAtReturn);
                continue;
            }
            Call call = u.Call;
            string still = switched ? $"switching at line {r.Line} to task {r.Other}, which needs it too" : $"still at line {r.Line}";
            tally.Fail(new Violation(u.Property, u.ReturnNs, u.Cpu, call.Tgid, call.Line,
                $"line {call.Line}: membarrier({MembarrierCmd.Name(call.Cmd)}) on CPU {call.Cpu} returned at line {u.ReturnLine}, " +
                $"but CPU {u.Cpu}, running {(u.Property == "P-GE" ? "a registered process" : $"process {call.Tgid}")} throughout " +
                $"({still}), ran no {CsdFuncNames.Of(CallbackOf(call.Cmd))} callback{B21(call, u.Cpu)}") { WindowStart = call.Line });
        }
    }

    /// <summary>
    /// Names the kernel path when the trace shows it: B21 (docs/bugs/B21.md). exit_mm() clears
    /// rq->membarrier_state (membarrier_update_current_mm(NULL)) while active_mm stays the mm, and
    /// the switch to another thread of it keeps the cleared copy (membarrier_switch_mm() returns when
    /// prev->active_mm == next->mm), so membarrier_global_expedited() skips the CPU.
    /// </summary>
    private string B21(Call call, int cpu)
    {
        if (call.Cmd != MembarrierCmd.GlobalExpedited || cpu >= _cpus.Length) return "";
        CpuLine line = _cpus[cpu];
        if (line.ClearedBy == 0 || line.CopyMmOf != TgidOf(line.ClearedBy)) return "";
        return $": thread {line.ClearedBy} of that process exited on CPU {cpu} at line {line.ClearedAt} and no switch from another mm came since, " +
            "so exit_mm() had cleared rq->membarrier_state and the switch to another thread of the same mm kept it cleared " +
            "(membarrier_switch_mm() returns when prev->active_mm == next->mm): Twin's B21, on this kernel";
    }

    private void ReturnValue(Call call, in TraceRecord r)
    {
        PropertyTally tally = Properties["E-RET"];
        int relevant = RegistrationKnowledge.Relevant(call.Cmd, call.Flags);
        bool known = _registrations.Knows(call.Tgid, relevant);
        int state = _registrations.State(call.Tgid); // before this call: its own return teaches only the calls after it
        _registrations.Returned(call.Tgid, call.Cmd, call.Flags, r.Ret);
        if (!known)
        {
            tally.Unknown(_registrations.Knows(call.Tgid, relevant) ? OwnReturn : StateBeforeTrace);
            return;
        }
        if (call.Cmd is MembarrierCmd.Query or MembarrierCmd.Global && call.Flags == 0 && !MachineKnown(call.Cmd, r.Ret, tally)) return;
        long expected = (_nohzFull == true ? _nohzOracle : _oracle).Expected(call.Cmd, call.Flags, state);
        if (expected != r.Ret)
        {
            tally.Fail(new Violation("E-RET", r.TimeNs, r.Cpu, call.Tgid, r.Line,
                $"line {r.Line}: membarrier({MembarrierCmd.Name(call.Cmd)}) from line {call.Line} returned {r.Ret}, sys_membarrier's checks give {expected}") { Task = r.Pid, WindowStart = call.Line });
        }
        else
        {
            tally.Pass();
        }
    }

    /// <summary>
    /// QUERY's answer is the kernel's configuration (nohz_full drops GLOBAL; older kernels lack the
    /// newer commands), not a check; GLOBAL's return depends on nohz_full (sys_membarrier()), which
    /// the first QUERY tells: until then a GLOBAL is undecidable.
    /// </summary>
    private bool MachineKnown(int cmd, long ret, PropertyTally tally)
    {
        if (cmd == MembarrierCmd.Query)
        {
            if (ret >= 0) _nohzFull ??= (ret & MembarrierCmd.Global) == 0;
            tally.Unknown(MachineConfig);
            return false;
        }
        if (_nohzFull is not null) return true;
        tally.Unknown(MachineUnknown);
        return false;
    }

    /// <summary>What membarrier_register_*() sets in mm->membarrier_state.</summary>
    public static int Registered(int cmd) => RegistrationKnowledge.Registered(cmd);

    private static bool IsRegister(int cmd) => cmd is MembarrierCmd.RegisterPrivateExpedited or MembarrierCmd.RegisterPrivateExpeditedSyncCore
        or MembarrierCmd.RegisterPrivateExpeditedRseq or MembarrierCmd.RegisterGlobalExpedited;

    /// <summary>The READY bits a registration sets last: when they are there already, it returns at once.</summary>
    private static int Ready(int cmd) => cmd switch
    {
        MembarrierCmd.RegisterPrivateExpedited => MembarrierState.PrivateExpeditedReady,
        MembarrierCmd.RegisterPrivateExpeditedSyncCore => MembarrierState.SyncCoreReady,
        MembarrierCmd.RegisterPrivateExpeditedRseq => MembarrierState.RseqReady,
        _ => MembarrierState.GlobalExpeditedReady,
    };

    private static CsdFunc CallbackOf(int cmd) => cmd switch
    {
        _ when IsRegister(cmd) => CsdFunc.IpiSyncRqState,
        MembarrierCmd.PrivateExpeditedSyncCore => CsdFunc.IpiSyncCore,
        MembarrierCmd.PrivateExpeditedRseq => CsdFunc.IpiRseq,
        _ => CsdFunc.IpiMb,
    };

    /// <summary>Whether a task is inside an exec whose sched_process_exec line is still ahead (its mm may already be the new one).</summary>
    public Func<int, bool>? InExec { get; set; }

    /// <summary>Where to look a task's tgid up first (the reconstruction's, which has read ahead); else the lines seen so far.</summary>
    public Func<int, int>? TgidLookup { get; set; }

    private int TgidOf(int pid) => TgidLookup is { } lookup ? lookup(pid) : _tgidOf.TryGetValue(pid, out int t) ? t : pid;

    private static ulong Bit(int cpu) => cpu is >= 0 and < 64 ? 1UL << cpu : 0;
}
