using System.Runtime.CompilerServices;
using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;

namespace Twin.Checking.Monitors;

/// <summary>
/// TLB-1 and LAZY-1 as far as a real trace shows them (kernel-model §2.3, §2.4), from its
/// reconstruction: no tracepoint shows loaded_mm, tlb_gen or the barriers, but the flushes' IPIs,
/// the switches and the CR3 writes are there.
/// <list type="bullet">
/// <item>TLB-1, the IPI side: when flush_tlb_mm_range(mm) returns, every other CPU that ran a
/// user thread of the mm from its start to its return (so loaded_mm == mm and not lazy when
/// should_flush_tlb() read it) ran flush_tlb_func in between. Decided only where the trace shows
/// flush_tlb_func queued for the CPU (csd_queue_cpu): smp_call_function_many_cond() waits for every
/// csd it queued. A CPU nothing was queued for is undecidable: native_flush_tlb_multi() would have
/// queued one, but a paravirt guest's flush_tlb_multi() hands remote vCPUs to the hypervisor
/// before calling it (kvm_flush_tlb_multi() a preempted vCPU, flushed at its next entry; a PVM
/// guest every remote vCPU, by the PVM_HC_FLUSH_TLB_MULTI hypercall), with no tracepoint in the
/// guest, and the trace does not say which flush_tlb_multi() the kernel runs.</item>
/// <item>TLB-1, the lazy side: a kernel → user switch back to the mm a lazy CPU kept, with no CR3
/// write, is right only if no flush of the mm started since the CPU went lazy (switch_mm_irqs_off's
/// same-mm path returns without a CR3 write only when the CPU's tlb_gen is the mm's).</item>
/// <item>LAZY-1: such an unlazy owes a full barrier and, for SYNC_CORE mms, a core sync before user
/// mode (finish_task_switch); neither is traced, so each is counted undecidable, with that reason.</item>
/// </list>
/// </summary>
public sealed class TraceTlbMonitor : Monitor, ITallied
{
    public const string KernelThreadFlush = "a kernel thread's flush: the trace does not say which mm it flushes";
    public const string SwitchedInside = "the CPU switched tasks inside the flush: the trace does not show what should_flush_tlb() read";
    public const string LostEvents = "events of the CPU were lost (LOST marker) during the flush";
    public const string NotQueued = "no flush_tlb_func was queued for the CPU (csd_queue_cpu): native_flush_tlb_multi() queues one for a CPU running the mm, " +
        "but a paravirt guest's flush_tlb_multi() has the hypervisor flush remote vCPUs (KVM a preempted one, PVM by hypercall), which the trace does not show";
    public const string LazyUnknown = "the CPU's lazy mm is not known (it went lazy before the trace showed it, or events were lost)";
    public const string BarrierNotTraced = "finish_task_switch()'s barrier and core sync after an unlazy without a CR3 write are not traced";

    private readonly Flush?[] _flush = new Flush?[Limits.MaxCpus];
    /// <summary>The flushes in progress (a handful at most), so a switch does not walk every CPU's slot.</summary>
    private readonly List<Flush> _open = [];
    private readonly int[] _curr = new int[Limits.MaxCpus];
    private readonly bool[] _seen = new bool[Limits.MaxCpus];
    private readonly int[] _lazyMm = new int[Limits.MaxCpus];
    private readonly long[] _lazyGen = new long[Limits.MaxCpus];

    public TraceTlbMonitor() => Array.Fill(_lazyMm, -1);

    public override string Property => "TLB-1";

    public override string Guarantee =>
        "switch_mm_irqs_off(): \"switch_mm() must see the new tlb_gen or flush_tlb_mm_range() must see the new loaded_mm, or both\"";

    public IReadOnlyDictionary<string, PropertyTally> Tallies { get; } = new SortedDictionary<string, PropertyTally>(StringComparer.Ordinal)
    {
        ["TLB-1"] = new(), ["LAZY-1"] = new(),
    };

    private sealed class Flush
    {
        public int Mm;
        public long Gen, Started;
        public ulong Required, Ran, Switched, Lost, Queued;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out ContextSeen cx))
        {
            _curr[cx.Cpu] = cx.Task;
            _seen[cx.Cpu] = true;
        }
        else if (Is(in evt, out SchedSwitched s))
        {
            _curr[s.Cpu] = s.Next;
            _seen[s.Cpu] = true;
            foreach (Flush f in _open) f.Switched |= Bit(s.Cpu);
        }
        else if (Is(in evt, out TlbShootdownStarted ts)) Start(in meta, ts);
        else if (Is(in evt, out IpiSent q) && q.Kind == IpiKind.FlushTlb && q.From >= 0 && q.From < _flush.Length && _flush[q.From] is Flush qf)
        {
            qf.Queued |= Bit(q.To); // csd_queue_cpu inside the sender's flush: native_flush_tlb_multi() chose to IPI it
        }
        else if (Is(in evt, out IpiHandled h) && h.Kind == IpiKind.FlushTlb)
        {
            foreach (Flush f in _open) f.Ran |= Bit(h.Cpu);
            _lazyMm[h.Cpu] = 0; // a lazy CPU's flush_tlb_func leaves the mm for init_mm: nothing owed
        }
        else if (Is(in evt, out TlbShootdownFinished tf)) Finish(in meta, tf);
        else if (Is(in evt, out LazyTlbEntered lz))
        {
            _lazyMm[lz.Cpu] = lz.Mm;
            _lazyGen[lz.Cpu] = View.MmTlbGen(lz.Mm);
        }
        else if (Is(in evt, out CoreSerialized cs) && cs.Reason == CoreSerializeReason.Cr3Write && View.Lazy[cs.Cpu])
        {
            _lazyMm[cs.Cpu] = 0; // CR3 written while lazy (leave_mm, a temporary mm): the borrowed mm is no longer loaded
        }
        else if (Is(in evt, out MmSwitched ms)) Unlazy(in meta, ms);
        else if (Is(in evt, out StateUnknown u) && u.Scope is UnknownScope.Cpu or UnknownScope.CpuGap)
        {
            foreach (Flush f in _open) f.Lost |= Bit(u.Id);
            _lazyMm[u.Id] = -1;
        }
    }

    private void Start(in EventMeta meta, TlbShootdownStarted ts)
    {
        if (ts.Mm <= 0)
        {
            Tallies["TLB-1"].Unknown(KernelThreadFlush);
            Close(ts.Cpu);
            return;
        }
        var f = new Flush { Mm = ts.Mm, Gen = ts.TlbGen, Started = meta.EventIndex };
        for (int c = 0; c < Math.Min(64, _curr.Length); c++)
        {
            int task = _curr[c];
            if (c != ts.Cpu && _seen[c] && !View.IsKthread(task) && View.TaskMm(task) == ts.Mm) f.Required |= Bit(c);
        }
        Close(ts.Cpu);
        _flush[ts.Cpu] = f;
        _open.Add(f);
    }

    private void Close(int cpu)
    {
        if (_flush[cpu] is Flush f) _open.Remove(f);
        _flush[cpu] = null;
    }

    private void Finish(in EventMeta meta, TlbShootdownFinished tf)
    {
        Flush? f = _flush[tf.Cpu];
        Close(tf.Cpu);
        if (f is null) return;
        PropertyTally tally = Tallies["TLB-1"];
        for (int c = 0; c < 64; c++)
        {
            if ((f.Required & Bit(c)) == 0) continue;
            if ((f.Ran & Bit(c)) != 0) tally.Pass();
            else if ((f.Lost & Bit(c)) != 0) tally.Unknown(LostEvents);
            else if ((f.Switched & Bit(c)) != 0) tally.Unknown(SwitchedInside);
            else if ((f.Queued & Bit(c)) == 0) tally.Unknown(NotQueued);
            else Flag(in meta, c, f.Mm, $"flush_tlb_mm_range(mm {f.Mm}) by CPU {tf.Cpu} from event {f.Started} returned at event {meta.EventIndex}, " +
                $"but CPU {c}, running a thread of the mm throughout, ran no flush_tlb_func though one was queued for it", f.Started);
        }
    }

    private void Unlazy(in EventMeta meta, MmSwitched ms)
    {
        int c = ms.Cpu;
        int lazyMm = _lazyMm[c];
        _lazyMm[c] = -1;
        if (!ms.WasLazy || ms.Prev != ms.Next || ms.Next <= 0 || ms.Cr3Written) return;
        Tallies["LAZY-1"].Unknown(BarrierNotTraced);
        if (lazyMm != ms.Next)
        {
            Tallies["TLB-1"].Unknown(LazyUnknown);
            return;
        }
        long now = ms.TlbGen; // the mm's tlb_gen when the switch read it
        if (now == _lazyGen[c]) Tallies["TLB-1"].Pass();
        else Flag(in meta, c, ms.Next, $"CPU {c} unlazied into mm {ms.Next} without a CR3 write, but the mm's tlb_gen went from {_lazyGen[c]} to {now} while it was lazy: " +
            "its TLB was not flushed", meta.EventIndex);
    }

    private void Flag(in EventMeta meta, int cpu, int mm, string message, long windowStart)
    {
        Report(in meta, cpu, mm, message, task: _curr[cpu], windowStart: windowStart);
        Tallies["TLB-1"].Fail(new Violation("TLB-1", meta.TimestampNs, cpu, mm, meta.EventIndex, message)
        {
            Task = _curr[cpu],
            WindowStart = windowStart,
            Guarantee = Guarantee,
        });
    }

    private static ulong Bit(int cpu) => cpu < 64 ? 1UL << cpu : 0;
}
