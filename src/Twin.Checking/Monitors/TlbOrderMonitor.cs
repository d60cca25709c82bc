using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;

namespace Twin.Checking.Monitors;

/// <summary>
/// TLB-3 (x86): the store-buffering pattern between switch_mm_irqs_off() and
/// flush_tlb_mm_range(), "switch_mm() must see the new tlb_gen or flush_tlb_mm_range() must see the
/// new loaded_mm, or both", holds only with a full barrier on each side: between a switch's
/// publication of the CPU (mm_cpumask, loaded_mm) and its read of tlb_gen, cpumask_set_cpu()'s
/// atomic or the smp_mb() beside it (another mm) or the smp_mb() before reading tlb_gen (the lazy
/// same-mm path); between a shootdown's tlb_gen increment and its read of mm_cpumask and loaded_mm,
/// inc_mm_tlb_gen()'s. The model's TLB state is sequentially consistent, so a missing barrier here
/// shows as a broken pairing, not as a stale TLB.
/// </summary>
public sealed class TlbOrderMonitor(MachineFacts facts) : Monitor
{
    /// <summary>Event index at which the CPU's current switch_mm_irqs_off() began (rq->curr or tsk->mm stored).</summary>
    private readonly long[] _switchBegan = new long[Limits.MaxCpus];
    private readonly Dictionary<(int Mm, long Gen), long> _incremented = [];

    public override string Property => "TLB-3";

    public override string Guarantee =>
        "switch_mm_irqs_off(): \"Rely on the smp_mb() implied by cpumask_set_cpu()'s atomic operation, or explicitly provide one ... This way " +
        "switch_mm() must see the new tlb_gen or flush_tlb_mm_range() must see the new loaded_mm, or both\"; inc_mm_tlb_gen(): \"This also " +
        "serves as a full barrier that synchronizes with switch_mm()\"";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (!facts.X86) return;
        if (Is(in evt, out SchedSwitched s))
        {
            _switchBegan[s.Cpu] = meta.EventIndex;
        }
        else if (Is(in evt, out TaskMmChanged tm))
        {
            int cpu = View.CpuRunning(tm.Task);
            if (cpu >= 0) _switchBegan[cpu] = meta.EventIndex;
        }
        else if (Is(in evt, out MmSwitchBegan mb) && mb.Next != KernelIds.InitMm
            && !Ordered(mb.Cpu, BarrierPairings.BeforeTlbGenRead, _switchBegan[mb.Cpu]))
        {
            Unordered(in meta, mb.Cpu, mb.Next, BarrierPairings.BeforeTlbGenRead, _switchBegan[mb.Cpu],
                $"CPU {mb.Cpu} switches to mm {mb.Next} and reads its tlb_gen ({mb.NextTlbGen})");
        }
        else if (Is(in evt, out MmSwitched ms) && ms.Prev == ms.Next && ms.WasLazy
            && !Ordered(ms.Cpu, BarrierPairings.BeforeUnlazyTlbGenRead, _switchBegan[ms.Cpu]))
        {
            Unordered(in meta, ms.Cpu, ms.Next, BarrierPairings.BeforeUnlazyTlbGenRead, _switchBegan[ms.Cpu],
                $"CPU {ms.Cpu} unlazies into mm {ms.Next} and reads its tlb_gen ({ms.TlbGen})");
        }
        else if (Is(in evt, out TlbGenIncremented inc))
        {
            _incremented[(inc.Mm, inc.TlbGen)] = meta.EventIndex;
        }
        else if (Is(in evt, out TlbShootdownStarted sd) && _incremented.Remove((sd.Mm, sd.TlbGen), out long at)
            && !Ordered(sd.Cpu, BarrierPairings.AfterTlbGenIncrement, at))
        {
            Unordered(in meta, sd.Cpu, sd.Mm, BarrierPairings.AfterTlbGenIncrement, at,
                $"CPU {sd.Cpu} raised mm {sd.Mm}'s tlb_gen to {sd.TlbGen} at event {at} and reads mm_cpumask and loaded_mm to pick whom to flush");
        }
    }

    /// <summary>Has the CPU run a barrier of <paramref name="barrier"/> since event <paramref name="since"/>? (Asked before any message is built: every switch asks.)</summary>
    private bool Ordered(int cpu, BarrierSet barrier, long since) => View.LastBarrierOf(cpu, barrier) > since;

    private void Unordered(in EventMeta meta, int cpu, int mm, BarrierSet barrier, long since, string what) =>
        Report(in meta, cpu, mm, $"{what} with no {BarrierPairings.Describe(barrier)} in between (since event {since}): the other side may read the old value, and no flush reaches the CPU",
            windowStart: since);
}
