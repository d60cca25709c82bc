using Twin.Actors;
using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;
using Twin.Kernel.Sites;

namespace Twin.Kernel.Cpu;

// arch/x86/mm/tlb.c: switch_mm_irqs_off() (kernel-model §2.2), with what load_new_mm_cr3() implies
// on each profile; leave_mm()'s switch to init_mm (§2.3). Interrupts are off throughout.
public sealed partial class CpuActor
{
    /// <summary>
    /// switch_mm_irqs_off(prev, next). For another mm: <c>loaded_mm = LOADED_MM_SWITCHING</c>,
    /// <c>cpumask_set_cpu()</c> (a store the CPU waits for) before reading <c>tlb_gen</c>, then a
    /// kernel step later the CR3 write and <c>loaded_mm = next</c>. For the same mm, the unlazy
    /// path. True when it unlazied into the same mm without writing CR3.
    /// </summary>
    private async KernelPath<bool> SwitchMmIrqsOff(int next)
    {
        int prev = State.LoadedMm;
        bool wasLazy = State.IsLazy;
        if (prev == next) return await SwitchSameMm(next, wasLazy);
        Invariant.Assert(next != KernelIds.InitMm, "init_mm is switched to in one go (SwitchToInitMm)");
        // cpumask_set_cpu() before reading tlb_gen: "switch_mm() must see the new tlb_gen or
        // flush_tlb_mm_range() must see the new loaded_mm, or both."
        await Store(MmRef(next), new MmWrite(NextToken(), MmOp.CpumaskSet, Id));
        // A locked RMW is a full barrier on x86 only; riscv's set_bit is an unordered AMO.
        if (_arch.IsX86) Barrier(OrderingSite.SwitchMmCpumask);
        long tlbGen = Mm(next).TlbGen;
        // B14 writes CR3's LAM bits from this first read of the mask.
        int lamBitsAtStart = LamBitsOf(next);
        Raise(new MmSwitchBegan(Id, next, tlbGen));
        await KernelStep();
        Raise(new MmSwitched(Id, State.LoadedMm, next, Cr3Written: true, wasLazy, tlbGen));
        Invariant.Assert(Mm(next).CpumaskTest(Id), "mm_cpumask ⊇ {cpu : loaded_mm == mm} (TLB-2)");
        await LoadNewMmCr3(next, twoPhase: true, lamBitsAtStart);
        return false;
    }

    /// <summary>
    /// "Not actually switching mm's": thread → thread of one mm is nothing; an unlazy reads
    /// tlb_gen after <c>smp_mb()</c> and writes CR3 only if this CPU missed a flush while lazy.
    /// </summary>
    private async KernelPath<bool> SwitchSameMm(int mm, bool wasLazy)
    {
        if (!wasLazy) return false;
        // x86's smp_mb() before reading tlb_gen; other architectures' switch_mm return early here.
        if (_arch.IsX86) Barrier(OrderingSite.SwitchMmTlbGenBarrier);
        long gen = Mm(mm).TlbGen;
        if (State.LocalTlbGen == gen)
        {
            Raise(new MmSwitched(Id, mm, mm, Cr3Written: false, WasLazy: true, gen));
            return true;
        }
        Raise(new MmSwitched(Id, mm, mm, Cr3Written: true, WasLazy: true, gen));
        await LoadNewMmCr3(mm, twoPhase: false, lamBitsAtStart: 0);
        return false;
    }

    /// <summary>
    /// What loading <paramref name="next"/>'s page tables implies per architecture: x86's CR3
    /// write (a full barrier, serializing); riscv's FENCE.I where the mm's icache is stale here
    /// (the bit cleared by a store the CPU waits for: a concurrent SYNC_CORE call sets every bit,
    /// and the clear must not land after it); powerpc's and riscv's membarrier_arch_switch_mm();
    /// the LAM bits (<c>cpu_tlbstate_update_lam()</c>).
    /// </summary>
    private async KernelPath LoadNewMmCr3(int next, bool twoPhase, int lamBitsAtStart)
    {
        if (_arch.Cr3WriteSerializes)
        {
            Barrier(OrderingSite.SwitchMmCr3Barrier);
            Serialize(OrderingSite.SwitchMmCr3Serialize);
        }
        if (_arch.IcacheStaleMask && Mm(next).IcacheStaleMask.Test(Id))
        {
            Serialize(OrderingSite.SwitchMmFenceI);
            await Store(MmRef(next), new MmWrite(NextToken(), MmOp.IcacheStaleClear, Id));
        }
        MembarrierArchSwitchMm(next);
        LamOnCr3Write(next, twoPhase, lamBitsAtStart);
    }

    /// <summary>membarrier_arch_switch_mm() (powerpc, riscv): a full barrier when switching to an mm registered for expedited membarrier (B11 drops riscv's).</summary>
    private void MembarrierArchSwitchMm(int next)
    {
        const int registered = MembarrierState.PrivateExpedited | MembarrierState.GlobalExpedited;
        bool riscvWithoutPairing = _arch.IcacheStaleMask && Kernel.Config.Has(BugSet.B11);
        if (_arch.ArchSwitchMmBarrier && !riscvWithoutPairing && (Mm(next).MembarrierState & registered) != 0)
        {
            Barrier(OrderingSite.ArchSwitchMm);
        }
    }

    /// <summary>
    /// switch_mm_irqs_off(NULL, &amp;init_mm) in one go, interrupts off (idle_task_exit(), an unlazy by
    /// shootdown in flush_tlb_func()): init_mm has no cpumask to set, no icache mask and no
    /// membarrier state.
    /// </summary>
    private void SwitchToInitMm()
    {
        bool wasLazy = State.IsLazy;
        int lamBitsAtStart = LamBitsOf(KernelIds.InitMm);
        Raise(new MmSwitchBegan(Id, KernelIds.InitMm, 0));
        Raise(new MmSwitched(Id, State.LoadedMm, KernelIds.InitMm, Cr3Written: true, wasLazy, 0));
        if (_arch.Cr3WriteSerializes)
        {
            Barrier(OrderingSite.LeaveMmCr3Barrier);
            Serialize(OrderingSite.LeaveMmCr3Serialize);
        }
        LamOnCr3Write(KernelIds.InitMm, twoPhase: true, lamBitsAtStart);
    }
}
