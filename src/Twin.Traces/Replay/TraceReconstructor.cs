using System.Runtime.CompilerServices;
using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Persistence.Codec;
using Twin.Traces.Ftrace;

namespace Twin.Traces.Replay;

/// <summary>
/// Rebuilds a real trace in the model's terms and feeds it, as the kernel model's own events, to
/// the taps a simulation feeds (monitors, KernelView, the exporters' recorder). Per CPU over time:
/// rq->curr (sched_switch, and each line's task outside a switch's tail), user / kernel / hardirq
/// context (syscall events and the irq-info flags), kernel thread or user task, active_mm with
/// lazy-TLB borrowing (a kernel thread keeps the mm of the task before it; a tlb_flush "flush on
/// task switch" in the switch's tail is the CR3 write), each mm's membarrier registrations (the
/// REGISTER calls that returned 0 since its exec) and the CPUs it was loaded on (mm_cpumask, which
/// x86 does not clear on switch-away). Tasks come from the .tasks side file, the TGID column (read
/// a window ahead, so a task is known when it is first switched in) and fork/exec/exit events;
/// task ids are pids (the idle task is swapper/N as in the model), mm ids count up per exec.
/// Only what the trace shows is emitted: no barrier, no sampling, no core sync the kernel does
/// without a tracepoint. What it cannot show is said with <see cref="StateUnknown"/>.
/// Each event's EventMeta.EventIndex is its trace line number.
/// </summary>
public sealed partial class TraceReconstructor : ITraceSink
{
    /// <summary>Lines read ahead of the one being rebuilt, to learn tasks' tgids before they are switched in.</summary>
    private const int LookAhead = 1024;

    private readonly EventTap[] _taps;
    /// <summary>Gets each line as it is rebuilt, <see cref="LookAhead"/> lines after it was read, when <see cref="TgidOf"/> knows the tgids of the tasks it names.</summary>
    private readonly ITraceSink? _delayed;
    private readonly TraceRecord[] _ring = new TraceRecord[LookAhead];
    private int _head, _count;
    private readonly Dictionary<int, int> _tgidAhead = [];
    private readonly Dictionary<int, int> _tgidKnown;
    private readonly HashSet<int> _kthreads;
    private readonly Dictionary<int, TaskInfo> _tasks = [];
    private readonly Dictionary<int, int> _mmOfTgid = [];
    private readonly List<MmInfo> _mms = [new MmInfo(0)];
    private CpuInfo[] _cpus = [];
    private long _nextIpi;
    private long _lastLossLine;
    private int _lastPidAhead = int.MinValue;

    public TraceReconstructor(IReadOnlyList<EventTap> taps, IReadOnlyDictionary<int, int>? tgids = null, IReadOnlySet<int>? kthreads = null, ITraceSink? delayed = null)
    {
        _taps = [.. taps];
        _delayed = delayed;
        _tgidKnown = tgids is null ? [] : new Dictionary<int, int>(tgids);
        _kthreads = kthreads is null ? [] : [.. kthreads];
    }

    /// <summary>Tasks whose sched_process_exec is among the lines read ahead, with its line.</summary>
    private readonly Dictionary<int, long> _execAhead = [];

    /// <summary>
    /// Whether <paramref name="pid"/> is inside an exec the lines read ahead show: exec_mmap() gives it
    /// the new mm (membarrier_state 0, membarrier_exec_mmap()) before sched_process_exec fires, at a
    /// point the trace shows at most as a "flush on task switch" outside any switch.
    /// </summary>
    public bool InExec(int pid) => _execAhead.ContainsKey(pid);

    /// <summary>Highest CPU seen + 1.</summary>
    public int Cpus => _cpus.Length;

    /// <summary>Lines rebuilt so far.</summary>
    public long Rebuilt { get; private set; }

    private sealed class TaskInfo(int pid)
    {
        public int Pid = pid, Tgid = pid, Mm;
        public bool Kthread;
    }

    private sealed class MmInfo(int id)
    {
        public int Id = id, Tgid, State;
        /// <summary>Its membarrier_state is all in the trace (an exec, or a fork of such an mm).</summary>
        public bool Known = true;
        public long TlbGen = 1;
        public ulong Cpumask;
    }

    private sealed class CpuInfo
    {
        public bool Seen, User;
        public int Curr, ActiveMm, TailOf = int.MinValue, SeenTask = int.MinValue;
        public bool Lazy;
        /// <summary>A switch into another mm waits for its tail: a "flush on task switch" there is its CR3 write.</summary>
        public bool SwitchPending, PendingWasLazy;
        public int PendingPrevMm, PendingNextMm;
        public long PendingGen;
        /// <summary>An open remote TLB flush (tlb_flush "remote IPI send"): its mm, generation and the sending task.</summary>
        public int FlushMm, FlushTask = int.MinValue;
        public long FlushGen;
        public int CallTask = int.MinValue;
        /// <summary>Inside the flush's local run of flush_tlb_func (csd NULL).</summary>
        public bool LocalRun;
        public long RunIpi;
        /// <summary>Inside a call-function interrupt (<see cref="Handler"/> numbers it); the CPU's stopper thread, once seen.</summary>
        public bool InHandler;
        public long Handler;
        /// <summary>The CPU has logged a call_function(_single)_exit, and a csd_function_exit of a queued csd: its trace brackets interrupts and functions.</summary>
        public bool VectorExitSeen, CsdExitSeen;
        public int Stopper = int.MinValue;
    }

    /// <summary>The queued csds by address, each with the IPI id it was given; and the addresses that ran, with the line they ran at.</summary>
    private readonly Dictionary<(ulong Csd, int Target), long> _queued = [];
    private readonly Dictionary<ulong, (long Line, long Ipi, long Handler)> _ranAt = [];
    private readonly Dictionary<long, (int From, int To)> _ipiEnds = [];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnEvent(in TraceRecord record)
    {
        if (record.Tgid > 0 && record.Pid != _lastPidAhead)
        {
            _lastPidAhead = record.Pid; // lines of one task come in runs: one lookup a run
            _tgidAhead.TryAdd(record.Pid, record.Tgid);
        }
        if (record.Kind == TraceEventKind.SchedProcessExec) _execAhead[record.Pid] = record.Line;
        if (_count == LookAhead)
        {
            _delayed?.OnEvent(in _ring[_head]);
            Rebuild(in _ring[_head]);
            _head = (_head + 1) % LookAhead;
            _count--;
        }
        _ring[(_head + _count) % LookAhead] = record;
        _count++;
    }

    /// <summary>Rebuilds the lines still read ahead; call once the trace has been read.</summary>
    public void Finish()
    {
        while (_count > 0)
        {
            _delayed?.OnEvent(in _ring[_head]);
            Rebuild(in _ring[_head]);
            _head = (_head + 1) % LookAhead;
            _count--;
        }
    }
}
