using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Sites;
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
    private int _switchTo;
    private long _switchTlbGen;
    private CpuPhase _switchLoad;
    private CpuPhase _switchLoaded;
    private int _flushMm;
    private bool _flushFreed;
    private long _flushGen;
    private long _acksPending;
    private long _waitToken;
    private CpuPhase _afterAcks;

    /// <summary>
    /// First part of switch_mm_irqs_off(prev, next) with interrupts off. For another mm it sets
    /// this CPU in mm_cpumask (a store the CPU waits for), reads tlb_gen and enters the
    /// LOADED_MM_SWITCHING window; phase <paramref name="load"/> writes CR3 a step later. For the
    /// same mm it completes without the window and runs <paramref name="same"/>.
    /// </summary>
    private void SwitchMmStart(int next, CpuPhase load, CpuPhase same)
    {
        int prev = State.LoadedMm;
        bool wasLazy = State.IsLazy;
        _unlazyWithoutCr3 = false;
        if (prev == next)
        {
            SwitchSameMm(next, wasLazy, same);
            return;
        }
        Invariant.Assert(next != KernelIds.InitMm, "init_mm is switched to in one go (SwitchToInitMm)");
        _switchWasLazy = wasLazy;
        _switchTo = next;
        _switchLoad = load;
        // cpumask_set_cpu() before reading tlb_gen: "switch_mm() must see the new tlb_gen or
        // flush_tlb_mm_range() must see the new loaded_mm, or both."
        Store(Kernel.MmRef(next), new MmWrite(NextToken(), MmOp.CpumaskSet, Id), CpuPhase.SwitchCpumaskSet);
    }

    /// <summary>Thread → thread of one mm: nothing. Unlazy: read tlb_gen after a barrier; a CR3 write only if this CPU missed a flush while lazy.</summary>
    private void SwitchSameMm(int mm, bool wasLazy, CpuPhase then)
    {
        if (!wasLazy)
        {
            RunPhase(then);
            return;
        }
        // x86's smp_mb() before reading tlb_gen; other architectures' switch_mm return early here.
        if (_arch.IsX86) Barrier(OrderingSite.SwitchMmTlbGenBarrier);
        long gen = Kernel.Mm(mm).State.TlbGen;
        if (State.LocalTlbGen == gen)
        {
            Raise(new MmSwitched(Id, mm, mm, Cr3Written: false, WasLazy: true, gen));
            _unlazyWithoutCr3 = true;
            RunPhase(then);
            return;
        }
        Raise(new MmSwitched(Id, mm, mm, Cr3Written: true, WasLazy: true, gen));
        Cr3Written(mm, twoPhase: false, then);
    }

    /// <summary>This CPU is in the mask: the barrier of the locked RMW, the tlb_gen read, and the switching window.</summary>
    private void SwitchMmEnterWindow()
    {
        // A locked RMW is a full barrier on x86 only; riscv's set_bit is an unordered AMO.
        if (_arch.IsX86) Barrier(OrderingSite.SwitchMmCpumask);
        _switchTlbGen = Kernel.Mm(_switchTo).State.TlbGen;
        LamSwitchStart(_switchTo);
        Raise(new MmSwitchBegan(Id, _switchTo, _switchTlbGen));
        ContinueAfter(StepNs(), _switchLoad);
    }

    /// <summary>Second part: load CR3 (flushing as needed) and publish loaded_mm = next; then <paramref name="then"/>.</summary>
    private void SwitchMmLoad(CpuPhase then)
    {
        int next = _switchTo;
        Raise(new MmSwitched(Id, State.LoadedMm, next, Cr3Written: true, _switchWasLazy, _switchTlbGen));
        Invariant.Assert(Kernel.Mm(next).State.CpumaskTest(Id), "mm_cpumask ⊇ {cpu : loaded_mm == mm} (TLB-2)");
        Cr3Written(next, twoPhase: true, then);
    }

    /// <summary>
    /// What loading <paramref name="next"/>'s page tables implies per architecture: x86 CR3 (full
    /// barrier, serializing); riscv FENCE.I if the mm's icache is stale here; powerpc/riscv
    /// membarrier_arch_switch_mm; the LAM bits. Then <paramref name="then"/>.
    /// </summary>
    private void Cr3Written(int next, bool twoPhase, CpuPhase then)
    {
        _switchTo = next;
        _cr3TwoPhase = twoPhase;
        _switchLoaded = then;
        if (_arch.Cr3WriteSerializes)
        {
            Barrier(OrderingSite.SwitchMmCr3Barrier);
            Serialize(OrderingSite.SwitchMmCr3Serialize);
        }
        if (_arch.IcacheStaleMask && Kernel.Mm(next).State.IcacheStaleMask.Test(Id))
        {
            Serialize(OrderingSite.SwitchMmFenceI);
            // Cleared with a store the CPU waits for: a concurrent SYNC_CORE call sets every bit,
            // and the clear must not land after it.
            Store(Kernel.MmRef(next), new MmWrite(NextToken(), MmOp.IcacheStaleClear, Id), CpuPhase.SwitchLoadRest);
            return;
        }
        SwitchMmLoadRest();
    }

    private bool _cr3TwoPhase;

    /// <summary>After CR3 and the icache: membarrier_arch_switch_mm's barrier and the LAM bits; then the caller's phase.</summary>
    private void SwitchMmLoadRest()
    {
        int next = _switchTo;
        const int registered = MembarrierState.PrivateExpedited | MembarrierState.GlobalExpedited;
        bool riscvWithoutPairing = _arch.IcacheStaleMask && Kernel.Config.Has(BugSet.B11);
        if (_arch.ArchSwitchMmBarrier && !riscvWithoutPairing && (Kernel.Mm(next).State.MembarrierState & registered) != 0)
        {
            Barrier(OrderingSite.ArchSwitchMm);
        }
        LamOnCr3Write(next, _cr3TwoPhase);
        RunPhase(_switchLoaded);
    }

    /// <summary>
    /// switch_mm_irqs_off(NULL, &amp;init_mm) in one go, interrupts off (idle_task_exit, unlazy by
    /// shootdown): init_mm has no cpumask to set, no icache mask and no membarrier state.
    /// </summary>
    private void SwitchToInitMm()
    {
        bool wasLazy = State.IsLazy;
        LamSwitchStart(KernelIds.InitMm);
        Raise(new MmSwitchBegan(Id, KernelIds.InitMm, 0));
        Raise(new MmSwitched(Id, State.LoadedMm, KernelIds.InitMm, Cr3Written: true, wasLazy, 0));
        if (_arch.Cr3WriteSerializes)
        {
            Barrier(OrderingSite.LeaveMmCr3Barrier);
            Serialize(OrderingSite.LeaveMmCr3Serialize);
        }
        LamOnCr3Write(KernelIds.InitMm, twoPhase: true);
    }

    /// <summary>
    /// flush_tlb_mm_range(mm, freed_tables): inc_mm_tlb_gen (an atomic whose result the CPU waits
    /// for), then the flush IPIs: to all of mm_cpumask when page tables were freed, else only to
    /// CPUs that should_flush_tlb() picks. The caller continues with <paramref name="after"/> once
    /// every handler ran.
    /// </summary>
    private void FlushTlbMmRange(int mm, bool freedTables, CpuPhase after)
    {
        _flushMm = mm;
        _flushFreed = freedTables;
        _afterAcks = after;
        Store(Kernel.MmRef(mm), new MmWrite(NextToken(), MmOp.IncTlbGen, Value: freedTables ? 1 : 0), CpuPhase.FlushGen);
    }

    private void FlushTlbMmRangeSend()
    {
        int mm = _flushMm;
        bool freedTables = _flushFreed;
        long gen = _reply;
        Barrier(OrderingSite.IncTlbGen);
        Raise(new TlbShootdownStarted(Id, mm, gen, freedTables));
        HotplugOn(HotplugTrigger.Shootdown);
        _flushGen = gen;
        CpuMask mask = Kernel.Mm(mm).State.Cpumask;
        bool others = !mask.Without(Id).IsEmpty;
        bool runLocal = false;
        BeginWait(CpuPhase.FlushWait);
        if (others)
        {
            for (int c = 0; c < Kernel.Config.Cpus; c++)
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
        CpuState s = Kernel.Cpus[cpu].State;
        if (s.IsLazy) return false; // "Lazy TLB will get flushed at the next context switch"
        if (s.Switching) return !Kernel.Config.Has(BugSet.B12);
        return s.LoadedMm == mm;
    }

    /// <summary>flush_tlb_func() on this CPU, in hardirq context (or locally with interrupts off).</summary>
    private void FlushTlbFunc(int mm, long gen)
    {
        Invariant.Assert(!State.Switching, "a flush handler never runs inside switch_mm (interrupts are off there)");
        if (State.LoadedMm != mm)
        {
            // "The CPU was left in the mm_cpumask of the target mm. Clear it." Only this CPU writes
            // its bit, and its messages to the mm arrive in order: the store is posted.
            Kernel.MmRef(mm).Tell(new MmWrite(0, MmOp.CpumaskClear, Id), Self);
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
        long mmGen = Kernel.Mm(mm).State.TlbGen;
        bool partial = gen == State.LocalTlbGen + 1 && gen == mmGen;
        Raise(new TlbFlushed(Id, mm, mmGen, Full: !partial));
    }

    private void FinishFlush()
    {
        Raise(new TlbShootdownFinished(Id, _flushMm, _flushGen));
    }
}
