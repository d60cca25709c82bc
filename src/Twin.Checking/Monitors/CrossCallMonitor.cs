using System.Runtime.CompilerServices;
using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;

namespace Twin.Checking.Monitors;

/// <summary>
/// The cross-call protocol of kernel/smp.c, from the csd events alone, so a simulation and a real
/// trace are checked the same way (IpiSent is csd_queue_cpu, IpiHandled csd_function_entry,
/// IpiCompleted csd_function_exit):
/// <list type="bullet">
/// <item>CSD-1: a waited cross-call (smp_call_function_many/_single and on_each_cpu_cond_mask with
/// wait, which every handler the model knows is sent with) returns only after each target it
/// queued ran the function (csd_lock_wait waits for the csd_unlock after it).</item>
/// <item>CSD-2: every queued csd runs exactly once, on the CPU it was queued for, after it was queued.</item>
/// <item>CSD-3: a callback runs in the context the kernel runs it in (docs/trace-import.md lists the
/// paths of 6.18): a queued one by a flush of its target's queue, which the call-function IPI's
/// handler does in hardirq (generic_smp_call_function_single_interrupt()), the idle loop from the
/// idle task with IRQs off (do_idle()'s flush_smp_call_function_queue(), for a polling idle CPU
/// woken without an IPI), and the CPU's stopper thread with IRQs off (migration_cpu_stop()'s
/// flush_smp_call_function_queue(), and a CPU going offline's smpcfd_dying_cpu() under
/// stop_machine); never in user mode, never with IRQs on; one run locally by on_each_cpu*() or
/// smp_call_function_single() on the caller, IRQs off, inside the caller's call.</item>
/// </list>
/// A waited call returns at the caller's event that follows the wait: MembarrierExited (membarrier's
/// handlers), TlbShootdownFinished (flush_tlb_func), ArchPrctlReturned (enable_lam_func),
/// TextPokeStepped's sync phases (do_sync_core). A callback logged at the same time as the return
/// (trace timestamps are microseconds) still counts; only a later one, or none, is a violation. What
/// <see cref="StateUnknown"/> says was lost makes the csds it touches undecidable.
/// </summary>
public sealed class CrossCallMonitor : Monitor, ITallied
{
    public const string LostEvents = "events of the sender or target CPU were lost while the csd was in flight";
    public const string TargetNeverSeen = "the target CPU shows no event in this trace (a one-CPU report?)";
    public const string NotYetSettled = "the trace ends at the call's return, before it shows whether the callback came after it";
    public const string ExitNotSeen = "the target ran the function but its exit line is not before the return: csd_unlock() follows the function, so the line was lost";
    public const string OriginUnknown = "the csd ran with no queueing in the trace since its last run (queued before the trace began, or the csd_queue_cpu line lost: a LOST marker, a line that did not parse, or a gap the trace does not mark)";
    public const string FlushStartUnknown = "the local flush's shootdown began before the CPU's first switch in the trace (or while its events were lost)";
    public const string CallStartUnknown = "the local run's membarrier call may have begun where the trace is blind (before the task's first switch in the trace, or lines were lost since)";

    /// <summary>How many completed csds are remembered to tell a second run of one from a run whose queueing the trace lacks.</summary>
    private const int RecentCompleted = 4096;

    private readonly Dictionary<long, Csd> _inFlight = [];
    private readonly HashSet<long> _recent = [];
    private readonly Queue<long> _recentOrder = new();
    private readonly List<Csd>[] _open = new List<Csd>[Limits.MaxCpus];
    private readonly List<Csd> _awaiting = [];
    private readonly ExecContext[] _context = new ExecContext[Limits.MaxCpus];
    private readonly bool[] _irqsOff = new bool[Limits.MaxCpus];
    private readonly bool[] _seen = new bool[Limits.MaxCpus];
    private readonly int[] _curr = new int[Limits.MaxCpus];
    /// <summary>Each CPU's stopper thread (migration/N), as a trace names it; none in a simulation.</summary>
    private readonly int[] _stopper = new int[Limits.MaxCpus];
    /// <summary>Tasks inside membarrier(): the call can sleep (synchronize_rcu) and go on on another CPU.</summary>
    private readonly HashSet<int> _inCall = [];
    private readonly int[] _inFlush = new int[Limits.MaxCpus];
    /// <summary>
    /// Whether a shootdown in progress on the CPU would be in view: since boot, a context switch
    /// (flush_tlb_mm_range holds preemption off, so no shootdown spans one) or a shootdown's start;
    /// not at a trace's beginning or after lost events.
    /// </summary>
    private readonly bool[] _flushStartInView = new bool[Limits.MaxCpus];
    /// <summary>Event index of each CPU's last switch (or boot), and of the last lost window anywhere: a call that began since the switch and no loss is in view.</summary>
    private readonly long[] _switchedAt = new long[Limits.MaxCpus];
    private long _lastLoss;
    /// <summary>The stream is a real trace's reconstruction (it says what lines showed), where lines can be lost without a marker.</summary>
    private bool _trace;

    public CrossCallMonitor()
    {
        for (int c = 0; c < _open.Length; c++) _open[c] = [];
        Array.Fill(_stopper, int.MinValue);
    }

    public override string Property => "CSD-1";

    public override string Guarantee =>
        "kernel/smp.c: \"If @wait is true, then returns once @func has returned on all the CPUs\"; a csd is locked while queued and " +
        "unlocked once its function ran, on the CPU it was queued for, from the call-function IPI (or the idle loop's flush of the queue)";

    public IReadOnlyDictionary<string, PropertyTally> Tallies { get; } = new SortedDictionary<string, PropertyTally>(StringComparer.Ordinal)
    {
        ["CSD-1"] = new(), ["CSD-2"] = new(), ["CSD-3"] = new(),
    };

    private sealed class Csd
    {
        public long Ipi, SentIndex, ReturnIndex, ReturnNs;
        public int From, To, Task;
        public IpiKind Kind;
        public bool Handled, Completed, Unknown, Closed;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (_awaiting.Count > 0) Settle(in meta);
        if (Is(in evt, out IpiSent s))
        {
            var csd = new Csd { Ipi = s.Ipi, From = s.From, To = s.To, Kind = s.Kind, SentIndex = meta.EventIndex, Task = Curr(s.From) };
            _inFlight[s.Ipi] = csd;
            _open[s.From].Add(csd);
        }
        else if (Is(in evt, out IpiHandled h)) Handled(in meta, h);
        else if (Is(in evt, out IpiCompleted done))
        {
            if (_inFlight.Remove(done.Ipi, out Csd? csd))
            {
                csd.Completed = true;
                Remember(done.Ipi);
            }
        }
        else if (Is(in evt, out ContextSeen cx))
        {
            _trace = true;
            _curr[cx.Cpu] = cx.Task;
            _context[cx.Cpu] = cx.Context;
            _irqsOff[cx.Cpu] = cx.IrqsOff;
            _seen[cx.Cpu] = true;
        }
        else if (Is(in evt, out StopperSeen st)) _stopper[st.Cpu] = st.Task;
        else if (Is(in evt, out CpuBooted b))
        {
            _seen[b.Cpu] = true;
            _flushStartInView[b.Cpu] = true;
            _switchedAt[b.Cpu] = Math.Max(1, meta.EventIndex);
        }
        else if (Is(in evt, out SchedSwitched sw))
        {
            _curr[sw.Cpu] = sw.Next;
            _seen[sw.Cpu] = true;
            _flushStartInView[sw.Cpu] = true;
            _switchedAt[sw.Cpu] = Math.Max(1, meta.EventIndex);
        }
        else if (Is(in evt, out KernelEntered ke)) _context[ke.Cpu] = ExecContext.Unknown;
        else if (Is(in evt, out MembarrierEntered me)) _inCall.Add(me.Task);
        else if (Is(in evt, out MembarrierExited mx))
        {
            _inCall.Remove(mx.Task);
            // Its IPIs went out from whichever CPU the caller was on then.
            for (int c = 0; c < View.Cpus || c <= mx.Cpu; c++) Return(in meta, c, mx.Task, IpiKind.Mb, IpiKind.SyncCore, IpiKind.Rseq, IpiKind.SyncRqState);
        }
        else if (Is(in evt, out TlbShootdownStarted ts))
        {
            _inFlush[ts.Cpu]++;
            _flushStartInView[ts.Cpu] = true;
        }
        else if (Is(in evt, out TlbShootdownFinished tf))
        {
            _inFlush[tf.Cpu] = 0;
            Return(in meta, tf.Cpu, task: null, IpiKind.FlushTlb);
        }
        else if (Is(in evt, out ArchPrctlReturned ap)) Return(in meta, ap.Cpu, task: null, IpiKind.EnableLam);
        else if (Is(in evt, out TextPokeStepped tp) && tp.Phase is TextPokePhase.Synced1 or TextPokePhase.Synced2 or TextPokePhase.Synced3)
        {
            Return(in meta, tp.Cpu, task: null, IpiKind.TextPokeSync);
        }
        else if (Is(in evt, out StateUnknown u) && u.Scope is UnknownScope.Cpu or UnknownScope.CpuGap)
        {
            if (u.Id >= 0 && u.Id < _flushStartInView.Length) _flushStartInView[u.Id] = false;
            _lastLoss = meta.EventIndex;
            foreach (Csd csd in _inFlight.Values)
            {
                if (csd.To == u.Id || csd.From == u.Id) csd.Unknown = true;
            }
        }
    }

    private void Handled(in EventMeta meta, IpiHandled h)
    {
        PropertyTally once = Tallies["CSD-2"], context = Tallies["CSD-3"];
        string func = Name(h.Kind);
        if (h.Ipi == 0)
        {
            // Run locally by on_each_cpu*() or smp_call_function_single(self): IRQs off, inside the caller's call.
            bool inside = h.Kind switch
            {
                IpiKind.FlushTlb => _inFlush[h.Cpu] > 0,
                IpiKind.Mb or IpiKind.SyncCore or IpiKind.Rseq or IpiKind.SyncRqState => _inCall.Contains(Curr(h.Cpu)),
                _ => true,
            };
            bool irqsOn = _context[h.Cpu] != ExecContext.Unknown && !_irqsOff[h.Cpu];
            bool callInView = _switchedAt[h.Cpu] > 0 && _switchedAt[h.Cpu] > _lastLoss;
            if (!inside && h.Kind == IpiKind.FlushTlb && !_flushStartInView[h.Cpu]) context.Unknown(FlushStartUnknown);
            else if (!inside && h.Kind != IpiKind.FlushTlb && !callInView) context.Unknown(CallStartUnknown);
            else if (inside && !irqsOn) context.Pass();
            else Flag(in meta, "CSD-3", h.Cpu, $"CPU {h.Cpu} ran {func} locally {(inside ? "with IRQs on" : "outside the call that runs it")}", 0);
            return;
        }
        ExecContext ctx = _context[h.Cpu];
        // flush_smp_call_function_queue() from task context, IRQs off: the idle loop's, or the stopper's.
        int curr = Curr(h.Cpu);
        bool taskFlush = ctx == ExecContext.Task && _irqsOff[h.Cpu] && (KernelIds.IsIdle(curr) || curr == _stopper[h.Cpu]);
        bool fits = ctx is ExecContext.Hardirq || taskFlush || (ctx == ExecContext.Unknown && View.Mode[h.Cpu] != Kernel.Cpu.CpuMode.User);
        if (fits) context.Pass();
        else Flag(in meta, "CSD-3", h.Cpu, $"CPU {h.Cpu} ran the queued {func} from CPU {h.From} in {(ctx == ExecContext.Unknown ? "user mode" : ctx + " context" + (_irqsOff[h.Cpu] ? "" : " with IRQs on"))}, not from its IPI handler", 0);

        if (h.Ipi < 0)
        {
            once.Unknown(OriginUnknown);
            return;
        }
        if (!_inFlight.TryGetValue(h.Ipi, out Csd? csd))
        {
            // A csd that ran and completed, run again with no queueing in between; else one whose queueing this stream lacks.
            if (_recent.Contains(h.Ipi)) Flag(in meta, "CSD-2", h.Cpu, $"CPU {h.Cpu} ran {func} from a csd that was not queued since it last ran", 0);
            else once.Unknown(OriginUnknown);
            return;
        }
        if (csd.Unknown)
        {
            once.Unknown(LostEvents);
        }
        else if (csd.To != h.Cpu)
        {
            Flag(in meta, "CSD-2", h.Cpu, $"CPU {h.Cpu} ran {func} queued by CPU {csd.From} at event {csd.SentIndex} for CPU {csd.To}", csd.SentIndex);
        }
        else if (csd.Handled)
        {
            Flag(in meta, "CSD-2", h.Cpu, $"CPU {h.Cpu} ran {func} queued by CPU {csd.From} at event {csd.SentIndex} a second time", csd.SentIndex);
        }
        else
        {
            once.Pass();
        }
        csd.Handled = true;
    }

    private void Remember(long ipi)
    {
        _recent.Add(ipi);
        _recentOrder.Enqueue(ipi);
        if (_recentOrder.Count > RecentCompleted) _recent.Remove(_recentOrder.Dequeue());
    }

    /// <summary>The CPU's rq->curr: from the trace's lines, or the simulation's switches.</summary>
    private int Curr(int cpu) => _seen[cpu] ? _curr[cpu] : View.Curr[cpu];

    /// <summary>The caller returned from its waited call: each csd of these kinds it queued from <paramref name="cpu"/> (as <paramref name="task"/>, if given) must have completed.</summary>
    private void Return(in EventMeta meta, int cpu, int? task, params ReadOnlySpan<IpiKind> kinds)
    {
        List<Csd> open = _open[cpu];
        PropertyTally wait = Tallies["CSD-1"];
        for (int i = open.Count - 1; i >= 0; i--)
        {
            Csd csd = open[i];
            if (!kinds.Contains(csd.Kind) || (task is int t && csd.Task != t)) continue;
            open.RemoveAt(i);
            csd.Closed = true;
            if (csd.Completed) wait.Pass();
            else if (csd.Unknown) wait.Unknown(LostEvents);
            else if (!_seen[csd.To]) wait.Unknown(TargetNeverSeen);
            else
            {
                // Decided by the first event logged later than the return (see Settle).
                csd.ReturnIndex = meta.EventIndex;
                csd.ReturnNs = meta.TimestampNs;
                wait.Unknown(NotYetSettled);
                _awaiting.Add(csd);
            }
        }
    }

    /// <summary>A trace's timestamps are microseconds: a completion logged at the return's time may come just after it in the file; a later event decides.</summary>
    private void Settle(in EventMeta meta)
    {
        PropertyTally wait = Tallies["CSD-1"];
        for (int i = _awaiting.Count - 1; i >= 0; i--)
        {
            Csd csd = _awaiting[i];
            if (!csd.Completed && !csd.Unknown && meta.TimestampNs <= csd.ReturnNs) continue;
            _awaiting.RemoveAt(i);
            wait.Known(NotYetSettled);
            if (csd.Completed) wait.Pass();
            else if (csd.Unknown) wait.Unknown(LostEvents);
            else if (csd.Handled && _trace) wait.Unknown(ExitNotSeen);
            else
            {
                string func = Name(csd.Kind);
                Flag(new EventMeta(meta.Stream, meta.SequenceNr, csd.ReturnNs, csd.ReturnIndex), "CSD-1", csd.To,
                    $"CPU {csd.From}'s waited cross-call returned at event {csd.ReturnIndex}, but CPU {csd.To}, which it queued {func} for at event " +
                    $"{csd.SentIndex}, had not {(csd.Handled ? "finished" : "run")} it", csd.SentIndex);
            }
        }
    }

    private void Flag(in EventMeta meta, string property, int cpu, string message, long windowStart)
    {
        Report(in meta, cpu, 0, message, windowStart: windowStart, property: property);
        Tallies[property].Fail(new Violation(property, meta.TimestampNs, cpu, 0, meta.EventIndex, message)
        {
            WindowStart = windowStart == 0 ? meta.EventIndex : windowStart,
            Guarantee = Guarantee,
        });
    }

    /// <summary>The kernel's name of the handler a kind stands for.</summary>
    public static string Name(IpiKind kind) => kind switch
    {
        IpiKind.Mb => "ipi_mb",
        IpiKind.SyncCore => "ipi_sync_core",
        IpiKind.Rseq => "ipi_rseq",
        IpiKind.SyncRqState => "ipi_sync_rq_state",
        IpiKind.FlushTlb => "flush_tlb_func",
        IpiKind.EnableLam => "enable_lam_func",
        _ => "do_sync_core",
    };
}
