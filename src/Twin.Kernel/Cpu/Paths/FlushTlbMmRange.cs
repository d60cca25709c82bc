using Twin.Actors;
using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Mm;
using Twin.Kernel.Sites;

namespace Twin.Kernel.Cpu;

// arch/x86/mm/tlb.c: flush_tlb_mm_range(), native_flush_tlb_multi()'s choice of targets with
// should_flush_tlb(), and flush_tlb_func() on each target (kernel-model §2.4).
public sealed partial class CpuActor
{
    /// <summary>
    /// flush_tlb_mm_range(mm, ..., freed_tables): <c>inc_mm_tlb_gen()</c> (an atomic whose result
    /// the CPU waits for), then flush_tlb_func() on the other CPUs by IPI: on all of mm_cpumask
    /// when page tables were freed, else on those should_flush_tlb() picks; the local flush here.
    /// Returns when every handler ran.
    /// </summary>
    private async KernelPath FlushTlbMmRange(int mm, bool freedTables)
    {
        long gen = await Store(MmRef(mm), new MmWrite(NextToken(), MmOp.IncTlbGen, Value: freedTables ? 1 : 0));
        Barrier(OrderingSite.IncTlbGen);
        Raise(new TlbShootdownStarted(Id, mm, gen, freedTables));
        HotplugOn(HotplugTrigger.Shootdown);
        CpuMask mask = Mm(mm).Cpumask;
        bool runLocal = false;
        BeginWait();
        if (!mask.Without(Id).IsEmpty)
        {
            for (int c = 0; c < Cpus; c++)
            {
                if (!mask.Test(c)) continue;
                // native_flush_tlb_multi(): on_each_cpu_mask() if tables were freed, else
                // on_each_cpu_cond_mask(should_flush_tlb, ...), evaluated here on the sender.
                if (!freedTables && !ShouldFlushTlb(c, mm)) continue;
                if (c == Id) runLocal = true;
                else SendIpi(c, IpiKind.FlushTlb, mm, gen);
            }
        }
        else if (State.LoadedMm == mm)
        {
            runLocal = true;
        }
        if (runLocal) RunLocalHandler(IpiKind.FlushTlb, mm, gen);
        await CsdLockWait();
        Raise(new TlbShootdownFinished(Id, mm, gen));
    }

    /// <summary>should_flush_tlb(cpu), read remotely by the sender (B12 fix: a switching CPU is flushed).</summary>
    private bool ShouldFlushTlb(int cpu, int mm)
    {
        CpuView other = Cpu(cpu);
        if (other.IsLazy) return false; // "Lazy TLB will get flushed at the next context switch"
        if (other.Switching) return !Kernel.Config.Has(BugSet.B12);
        return other.LoadedMm == mm;
    }

    /// <summary>flush_tlb_func() on this CPU, in hardirq context (or locally with interrupts off).</summary>
    private void FlushTlbFunc(int mm, long gen)
    {
        Invariant.Assert(!State.Switching, "a flush handler never runs inside switch_mm (interrupts are off there)");
        if (State.LoadedMm != mm)
        {
            // "The CPU was left in the mm_cpumask of the target mm. Clear it." Only this CPU writes
            // its bit, and its messages to the mm arrive in order: the store is posted.
            MmRef(mm).Tell(new MmWrite(0, MmOp.CpumaskClear, Id), Self);
            return;
        }
        if (State.LoadedMm == KernelIds.InitMm) return;
        if (State.IsLazy)
        {
            // Unlazy by shootdown: switch_mm_irqs_off(NULL, &init_mm) ("need to at least flush our paging-structure cache").
            SwitchToInitMm();
            return;
        }
        if (gen <= State.LocalTlbGen) return;
        long mmGen = Mm(mm).TlbGen;
        bool partial = gen == State.LocalTlbGen + 1 && gen == mmGen;
        Raise(new TlbFlushed(Id, mm, mmGen, Full: !partial));
    }
}
