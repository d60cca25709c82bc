using System.Runtime.CompilerServices;
using Twin.Checking;
using Twin.Checking.Monitors;
using Twin.Kernel.Membarrier;

namespace Twin.Traces.Ftrace;

/// <summary>
/// Checks membarrier's guarantees on a real kernel trace, where the trace has the information
/// (kernel-model §3.6): the IPI side of P-PE, P-SC, P-RSEQ and P-GE, and the return values (E-RET)
/// against the same oracle as the simulation's ErrorTableMonitor. A CPU that ran a thread of the
/// caller's process (for GLOBAL_EXPEDITED: of any registered process) from the call's entry to its
/// return, and was seen still running it afterwards, must have run the command's IPI callback
/// (<c>csd_function_entry func=ipi_mb</c>, <c>ipi_sync_core</c>, <c>ipi_rseq</c>) in between. A CPU
/// that switched tasks inside the call, or whose next event after it is a switch, is undecidable:
/// the trace does not show when membarrier read its rq->curr. Processes whose
/// registrations are not all in the trace (no exec seen) make return values undecidable.
/// </summary>
public sealed class TraceChecker : ITraceSink
{
    /// <summary>Why a case is undecidable, as the report says it.</summary>
    public const string SwitchedInside = "the CPU switched tasks inside the call: the trace does not show when membarrier read its rq->curr";
    public const string SwitchedAtReturn = "the CPU's first event after the return is a sched_switch: __schedule() sets rq->curr before the tracepoint, so the switch may have begun inside the call";
    public const string NotYetSettled = "the trace ends before the CPU shows what it ran after the return";
    public const string StateBeforeTrace = "the process began before the trace: its earlier registrations are unknown";
    public const string LostEvents = "events of the CPU were lost (LOST marker) inside the call or before the CPU showed what it ran after it";

    private readonly Dictionary<int, int> _tgidOf = [];
    private readonly Dictionary<int, int> _state = [];
    private readonly Dictionary<int, int> _curr = [];
    private int _lastPid = int.MinValue, _lastTgid;
    private readonly Dictionary<int, int> _switchedFrom = [];
    private readonly Dictionary<int, Call> _calls = [];
    private readonly List<Unsettled> _unsettled = [];
    private readonly ErrorTableMonitor _oracle = new(new MachineFacts(64, NohzFull: false));
    private readonly HashSet<int> _kthreads;
    private readonly HashSet<int> _exited = [];

    public TraceChecker(IReadOnlySet<int>? kthreads = null) => _kthreads = kthreads is null ? [] : [.. kthreads];

    public SortedDictionary<string, PropertyTally> Properties { get; } = new(StringComparer.Ordinal)
    {
        ["P-PE"] = new(), ["P-SC"] = new(), ["P-RSEQ"] = new(), ["P-GE"] = new(), ["P-REG"] = new(), ["E-RET"] = new(),
    };

    private sealed record Unsettled(Call Call, string Property, int Cpu, long ReturnLine, long ReturnNs, int ReturnCpu);

    private sealed class Call
    {
        public int Cpu, Tgid, Cmd, Flags, CpuId;
        public long Line;
        public ulong Required, Ran, Switched, Lost;
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
            Lost(r.Cpu);
            return;
        }
        if (r.Tgid > 0 && (r.Pid != _lastPid || r.Tgid != _lastTgid))
        {
            // Lines of one task come in runs: one dictionary write a run, not a line.
            _lastPid = r.Pid;
            _lastTgid = r.Tgid;
            _tgidOf[r.Pid] = r.Tgid;
        }
        if (_unsettled.Count > 0) Settle(in r);
        if (r.Cpu < 64) NoteRunning(r.Cpu, r.Pid);
        switch (r.Kind)
        {
            case TraceEventKind.SchedSwitch:
                _curr[r.Cpu] = r.Other;
                _switchedFrom[r.Cpu] = r.Pid;
                foreach (Call c in _calls.Values) c.Switched |= Bit(r.Cpu);
                break;
            case TraceEventKind.SchedProcessExit:
                _exited.Add(r.Task); // exit_mm() has run: current->mm is NULL, membarrier skips the CPU
                break;
            case TraceEventKind.SchedProcessExec:
                _state[TgidOf(r.Pid)] = 0; // membarrier_exec_mmap: a fresh mm, nothing registered
                break;
            case TraceEventKind.CsdFunctionEntry:
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
                break;
        }
    }

    /// <summary>
    /// A line's task is the CPU's current one, except in a switch's tail: sched_switch fires after
    /// __schedule() has set rq->curr to next, but lines logged before switch_to() (switch_mm_irqs_off's
    /// "flush on task switch" tlb_flush) still carry prev as current. Taking those for the CPU's task
    /// made a real recording look like a skipped ipi_mb (a membarrier that read rq->curr == next).
    /// </summary>
    private void NoteRunning(int cpu, int pid)
    {
        if (_switchedFrom.TryGetValue(cpu, out int prev))
        {
            if (pid == prev && _curr.TryGetValue(cpu, out int next) && next != pid) return;
            _switchedFrom.Remove(cpu); // next (or, with lost events, someone else) runs: the tail is over
        }
        ref int curr = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_curr, cpu, out _);
        curr = pid;
    }

    /// <summary>What a CPU did in a lost window is unknown: calls that need it are undecidable, never violated.</summary>
    private void Lost(int cpu)
    {
        foreach (Call c in _calls.Values) c.Lost |= Bit(cpu) | (c.Cpu == cpu ? ulong.MaxValue : 0);
        for (int i = _unsettled.Count - 1; i >= 0; i--)
        {
            if (_unsettled[i].Cpu != cpu) continue;
            PropertyTally tally = Properties[_unsettled[i].Property];
            tally.Known(NotYetSettled);
            tally.Unknown(LostEvents);
            _unsettled.RemoveAt(i);
        }
        _curr.Remove(cpu);
        _switchedFrom.Remove(cpu);
    }

    private void Enter(in TraceRecord r)
    {
        int tgid = TgidOf(r.Pid);
        var call = new Call { Cpu = r.Cpu, Tgid = tgid, Cmd = r.Cmd, Flags = r.Flags, CpuId = r.CpuId, Line = r.Line };
        bool global = r.Cmd == MembarrierCmd.GlobalExpedited;
        if (IsRegister(r.Cmd))
        {
            // sync_runqueues_membarrier_state() IPIs the CPUs running the mm only on a first
            // registration (an earlier one returns at once), so the state before must be known.
            if (!_state.TryGetValue(tgid, out int before)) call.StateUnknown = true;
            else if ((before & Ready(r.Cmd)) == Ready(r.Cmd))
            {
                _calls[r.Pid] = call;
                return;
            }
        }
        foreach ((int cpu, int pid) in _curr)
        {
            if (cpu == r.Cpu || pid <= 0 || _kthreads.Contains(pid) || _exited.Contains(pid)) continue;
            if ((r.Flags & MembarrierCmd.FlagCpu) != 0 && cpu != r.CpuId) continue;
            int other = TgidOf(pid);
            bool needs = global
                ? _state.TryGetValue(other, out int s) && (s & MembarrierState.GlobalExpeditedReady) != 0
                : other == tgid && other > 0;
            if (needs) call.Required |= Bit(cpu);
        }
        _calls[r.Pid] = call;
    }

    private void Exit(Call call, in TraceRecord r)
    {
        ReturnValue(call, in r);
        if (r.Ret < 0) return;
        string? property = call.Cmd switch
        {
            MembarrierCmd.PrivateExpedited => "P-PE",
            MembarrierCmd.PrivateExpeditedSyncCore => "P-SC",
            MembarrierCmd.PrivateExpeditedRseq => "P-RSEQ",
            MembarrierCmd.GlobalExpedited => "P-GE",
            _ when IsRegister(call.Cmd) => "P-REG",
            _ => null,
        };
        if (property is null) return;
        PropertyTally tally = Properties[property];
        for (int cpu = 0; cpu < 64; cpu++)
        {
            if ((call.Required & Bit(cpu)) == 0) continue;
            if ((call.Ran & Bit(cpu)) != 0) tally.Pass();
            else if (call.StateUnknown) tally.Unknown(StateBeforeTrace);
            else if ((call.Lost & Bit(cpu)) != 0) tally.Unknown(LostEvents);
            else if ((call.Switched & Bit(cpu)) != 0) tally.Unknown(SwitchedInside);
            else
            {
                // Undecidable until the CPU shows it still ran the task after the return (see Settle).
                tally.Unknown(NotYetSettled);
                _unsettled.Add(new Unsettled(call, property, cpu, r.Line, r.TimeNs, r.Cpu));
            }
        }
    }

    /// <summary>
    /// A required CPU without the callback is a violation only if it still ran the task after the
    /// call returned: __schedule() sets rq->curr to next before the sched_switch tracepoint fires,
    /// so a switch logged just after the return may have been what membarrier read (a recording
    /// under load showed it: FLAG_CPU's rq->curr check found the next task and sent nothing). The
    /// CPU's first later event decides: its sched_switch leaves the case undecidable, anything else
    /// it logs strictly after the return time confirms the violation.
    /// </summary>
    private void Settle(in TraceRecord r)
    {
        for (int i = _unsettled.Count - 1; i >= 0; i--)
        {
            Unsettled u = _unsettled[i];
            if (u.Cpu != r.Cpu) continue;
            if (r.Kind != TraceEventKind.SchedSwitch && r.TimeNs <= u.ReturnNs) continue;
            _unsettled.RemoveAt(i);
            PropertyTally tally = Properties[u.Property];
            tally.Known(NotYetSettled);
            if (r.Kind == TraceEventKind.SchedSwitch)
            {
                tally.Unknown(SwitchedAtReturn);
                continue;
            }
            Call call = u.Call;
            tally.Fail(new Violation(u.Property, u.ReturnNs, u.Cpu, call.Tgid, call.Line,
                $"line {call.Line}: membarrier({MembarrierCmd.Name(call.Cmd)}) on CPU {call.Cpu} returned at line {u.ReturnLine}, " +
                $"but CPU {u.Cpu}, running {(u.Property == "P-GE" ? "a registered process" : $"process {call.Tgid}")} throughout " +
                $"(still at line {r.Line}), ran no {CsdFuncNames.Of(CallbackOf(call.Cmd))} callback") { WindowStart = call.Line });
        }
    }

    private void ReturnValue(Call call, in TraceRecord r)
    {
        PropertyTally tally = Properties["E-RET"];
        if (!_state.TryGetValue(call.Tgid, out int state))
        {
            tally.Unknown(StateBeforeTrace);
            return;
        }
        long expected = _oracle.Expected(call.Cmd, call.Flags, state);
        if (expected != r.Ret)
        {
            tally.Fail(new Violation("E-RET", r.TimeNs, r.Cpu, call.Tgid, r.Line,
                $"line {r.Line}: membarrier({MembarrierCmd.Name(call.Cmd)}) from line {call.Line} returned {r.Ret}, sys_membarrier's checks give {expected}") { Task = r.Pid, WindowStart = call.Line });
        }
        else
        {
            tally.Pass();
        }
        if (r.Ret == 0) _state[call.Tgid] = state | Registered(call.Cmd);
    }

    /// <summary>What membarrier_register_*() sets in mm->membarrier_state.</summary>
    public static int Registered(int cmd) => cmd switch
    {
        MembarrierCmd.RegisterPrivateExpedited => MembarrierState.PrivateExpeditedReady | MembarrierState.PrivateExpedited,
        // membarrier_register_private_expedited: set_state starts as PRIVATE_EXPEDITED whatever the flag,
        // so GET_REGISTRATIONS reports REGISTER_PRIVATE_EXPEDITED too (a real trace showed it: 0x110).
        MembarrierCmd.RegisterPrivateExpeditedSyncCore => MembarrierState.SyncCoreReady | MembarrierState.SyncCore | MembarrierState.PrivateExpedited,
        MembarrierCmd.RegisterPrivateExpeditedRseq => MembarrierState.RseqReady | MembarrierState.Rseq | MembarrierState.PrivateExpedited,
        MembarrierCmd.RegisterGlobalExpedited => MembarrierState.GlobalExpeditedReady | MembarrierState.GlobalExpedited,
        _ => 0,
    };

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

    private int TgidOf(int pid) => _tgidOf.TryGetValue(pid, out int t) ? t : pid;

    private static ulong Bit(int cpu) => cpu < 64 ? 1UL << cpu : 0;
}
