using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;

namespace Twin.Kernel.Cpu;

// x86 switch_mm_irqs_off() (kernel-model §2.2), lazy TLB (§2.3) and shootdowns (§2.4).
public sealed partial class CpuActor
{
    private bool _switchWasLazy;

    /// <summary>The last SwitchMmStart unlazied into the same mm without writing CR3.</summary>
    private bool _unlazyWithoutCr3;
    private long _switchTlbGen;
    private int _flushMm;
    private long _flushGen;
    private long _acksPending;
    private long _waitToken;
    private CpuPhase _afterAcks;

    /// <summary>
    /// First part of switch_mm_irqs_off(prev, next) with interrupts off. Returns true when the CPU
    /// entered the LOADED_MM_SWITCHING window and <see cref="SwitchMmLoad"/> must follow; false
    /// when the switch is complete (same mm).
    /// </summary>
    private bool SwitchMmStart(int next)
    {
        int prev = State.LoadedMm;
        bool wasLazy = State.IsLazy;
        _unlazyWithoutCr3 = false;
        if (prev == next)
        {
            // Thread → thread of one mm: nothing. Unlazy: read tlb_gen after a barrier; a CR3
            // write only if this CPU missed a flush while lazy.
            if (!wasLazy) return false;
            // x86's smp_mb() before reading tlb_gen; other architectures' switch_mm return early here.
            if (_arch.IsX86) Barrier(BarrierReason.UnlazyTlbGen);
            long gen = _kernel.Mm(next).State.TlbGen;
            if (State.LocalTlbGen == gen)
            {
                Persist(new MmSwitched(Id, prev, next, Cr3Written: false, WasLazy: true, gen));
                _unlazyWithoutCr3 = true;
            }
            else
            {
                Persist(new MmSwitched(Id, prev, next, Cr3Written: true, WasLazy: true, gen));
                Cr3WriteEffects(next);
                LamOnCr3Write(next, twoPhase: false);
            }
            return false;
        }
        _switchWasLazy = wasLazy;
        long nextGen = 0;
        if (next != KernelIds.InitMm)
        {
            // cpumask_set_cpu() before reading tlb_gen: "switch_mm() must see the new tlb_gen or
            // flush_tlb_mm_range() must see the new loaded_mm, or both."
            MmActor mm = _kernel.Mm(next);
            mm.CpumaskSetCpu(Id);
            // A locked RMW is a full barrier on x86 only; riscv's set_bit is an unordered AMO.
            if (_arch.IsX86) Barrier(BarrierReason.AtomicRmw);
            nextGen = mm.State.TlbGen;
        }
        _switchTlbGen = nextGen;
        LamSwitchStart(next);
        Persist(new MmSwitchBegan(Id, next, nextGen));
        return true;
    }

    /// <summary>Second part: load CR3 (flushing as needed) and publish loaded_mm = next.</summary>
    private void SwitchMmLoad()
    {
        int next = State.SwitchingTo;
        Persist(new MmSwitched(Id, State.LoadedMm, next, Cr3Written: true, _switchWasLazy, _switchTlbGen));
        Cr3WriteEffects(next);
        LamOnCr3Write(next, twoPhase: true);
        Invariant.Assert(next == KernelIds.InitMm || _kernel.Mm(next).State.CpumaskTest(Id), "mm_cpumask ⊇ {cpu : loaded_mm == mm} (TLB-2)");
    }

    /// <summary>What loading page tables implies per architecture: x86 CR3 (full barrier, serializing); riscv FENCE.I if the mm's icache is stale here; powerpc/riscv membarrier_arch_switch_mm.</summary>
    private void Cr3WriteEffects(int next)
    {
        if (_arch.Cr3WriteSerializes)
        {
            Barrier(BarrierReason.Cr3Write);
            Serialize(CoreSerializeReason.Cr3Write);
        }
        if (next == KernelIds.InitMm) return;
        MmActor mm = _kernel.Mm(next);
        if (_arch.IcacheStaleMask && mm.State.IcacheStaleMask.Test(Id))
        {
            Serialize(CoreSerializeReason.FenceI);
            mm.ClearIcacheStale(Id);
        }
        const int registered = MembarrierState.PrivateExpedited | MembarrierState.GlobalExpedited;
        bool riscvWithoutPairing = _arch.IcacheStaleMask && _kernel.Config.Has(BugSet.B11);
        if (_arch.ArchSwitchMmBarrier && !riscvWithoutPairing && (mm.State.MembarrierState & registered) != 0)
        {
            Barrier(BarrierReason.ArchSwitchMm);
        }
    }

    /// <summary>
    /// flush_tlb_mm_range(mm, freed_tables): inc_mm_tlb_gen, then the flush IPIs: to all of
    /// mm_cpumask when page tables were freed, else only to CPUs that should_flush_tlb() picks.
    /// The caller continues with <paramref name="after"/> once every handler ran.
    /// </summary>
    private void FlushTlbMmRange(int mm, bool freedTables, CpuPhase after)
    {
        MmActor m = _kernel.Mm(mm);
        long gen = m.IncTlbGen(freedTables);
        Barrier(BarrierReason.AtomicRmw);
        Persist(new TlbShootdownStarted(Id, mm, gen, freedTables));
        HotplugOn(HotplugTrigger.Shootdown);
        _flushMm = mm;
        _flushGen = gen;
        CpuMask mask = m.State.Cpumask;
        bool others = !mask.Without(Id).IsEmpty;
        bool runLocal = false;
        BeginWait(CpuPhase.FlushWait);
        _afterAcks = after;
        if (others)
        {
            for (int c = 0; c < _kernel.Config.Cpus; c++)
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
        EndSending();
    }

    /// <summary>should_flush_tlb(cpu), read remotely by the sender (B12 fix: a switching CPU is flushed).</summary>
    private bool ShouldFlushTlb(int cpu, int mm)
    {
        CpuState s = _kernel.Cpus[cpu].State;
        if (s.IsLazy) return false; // "Lazy TLB will get flushed at the next context switch"
        if (s.Switching) return !_kernel.Config.Has(BugSet.B12);
        return s.LoadedMm == mm;
    }

    /// <summary>flush_tlb_func() on this CPU, in hardirq context (or locally with interrupts off).</summary>
    private void FlushTlbFunc(int mm, long gen)
    {
        Invariant.Assert(!State.Switching, "a flush handler never runs inside switch_mm (interrupts are off there)");
        if (State.LoadedMm != mm)
        {
            // "The CPU was left in the mm_cpumask of the target mm. Clear it."
            _kernel.Mm(mm).CpumaskClearCpu(Id);
            return;
        }
        if (State.LoadedMm == KernelIds.InitMm) return;
        if (State.IsLazy)
        {
            // Unlazy by shootdown: switch_mm_irqs_off(NULL, &init_mm) ("need to at least flush our paging-structure cache").
            SwitchMmStart(KernelIds.InitMm);
            SwitchMmLoad();
            return;
        }
        if (gen <= State.LocalTlbGen) return;
        long mmGen = _kernel.Mm(mm).State.TlbGen;
        bool partial = gen == State.LocalTlbGen + 1 && gen == mmGen;
        Persist(new TlbFlushed(Id, mm, mmGen, Full: !partial));
    }

    private void FinishFlush()
    {
        Persist(new TlbShootdownFinished(Id, _flushMm, _flushGen));
    }
}
