using Twin.Kernel.Events;

namespace Twin.Checking;

/// <summary>
/// A set of <see cref="BarrierReason"/>s: the barriers the kernel names as one side of a pairing.
/// A check that asks for one of them is not satisfied by a barrier that happens to run in the
/// window for another reason (an IPI handler's, a TLB shootdown's).
/// </summary>
public readonly record struct BarrierSet(uint Bits)
{
    public static BarrierSet Of(params BarrierReason[] reasons)
    {
        uint bits = 0;
        foreach (BarrierReason r in reasons) bits |= 1u << (int)r;
        return new BarrierSet(bits);
    }

    public bool Contains(BarrierReason reason) => (Bits & (1u << (int)reason)) != 0;

    public IEnumerable<BarrierReason> Each() => Enum.GetValues<BarrierReason>().Where(Contains);
}

/// <summary>
/// Which barrier pairs with which, as kernel/sched/membarrier.c's comments and the code around
/// each store that membarrier reads name them (kernel-model §2.1, §2.5, §4). The checkers ask for
/// these, not for any barrier.
/// </summary>
public static class BarrierPairings
{
    /// <summary>
    /// After a context switch's store of rq->curr, before the new task's first user access:
    /// __schedule()'s "mm ? switch_mm() : mmdrop()" (x86: the CR3 write, "Writing to CR3 provides
    /// that full memory barrier"; powerpc/riscv: membarrier_arch_switch_mm()), switch_to() on
    /// arm64, and finish_task_switch()'s mmdrop_lazy_tlb_sched() for kernel -> user (scenario C's
    /// (e)). Pairs with membarrier's entry barrier (a). Not the barriers switch_mm_irqs_off() runs
    /// for the TLB (cpumask_set_cpu()'s, the tlb_gen smp_mb()): the kernel names them for tlb_gen.
    /// </summary>
    public static BarrierSet AfterCurrStore { get; } = BarrierSet.Of(BarrierReason.Cr3Write, BarrierReason.ArchSwitchMm, BarrierReason.SwitchTo, BarrierReason.MmdropLazyTlb);

    /// <summary>After kthread_use_mm()'s tsk->mm = mm (scenario E's (g)): mmdrop_lazy_tlb(), or switch_mm's own membarrier barrier when it changes mm.</summary>
    public static BarrierSet AfterUseMm { get; } = BarrierSet.Of(BarrierReason.MmdropLazyTlb, BarrierReason.Cr3Write, BarrierReason.ArchSwitchMm);

    /// <summary>Between a user access and the store of rq->curr that ends the mm's run: smp_mb__after_spinlock() in __schedule() (scenario C's (d)). Pairs with (c).</summary>
    public static BarrierSet BeforeCurrStore { get; } = BarrierSet.Of(BarrierReason.SchedSpinlock);

    /// <summary>Before exit_mm()'s current->mm = NULL (scenario D's (d)).</summary>
    public static BarrierSet BeforeExitMm { get; } = BarrierSet.Of(BarrierReason.ExitMm);

    /// <summary>Before kthread_unuse_mm()'s tsk->mm = NULL (scenario E's (d)).</summary>
    public static BarrierSet BeforeUnuseMm { get; } = BarrierSet.Of(BarrierReason.KthreadUnuseMm);

    /// <summary>Before exec clears the membarrier state and installs the new mm: membarrier_exec_mmap()'s smp_mb().</summary>
    public static BarrierSet BeforeExecMmap { get; } = BarrierSet.Of(BarrierReason.ExecMmap);

    /// <summary>After registration's store of rq->membarrier_state: ipi_sync_rq_state()'s smp_mb(), or sync_runqueues_membarrier_state()'s for the single user.</summary>
    public static BarrierSet AfterRegistration { get; } = BarrierSet.Of(BarrierReason.IpiHandler, BarrierReason.RegisterSync);

    /// <summary>The IPI side of (a) and (c): the handler's own smp_mb().</summary>
    public static BarrierSet IpiHandler { get; } = BarrierSet.Of(BarrierReason.IpiHandler);

    /// <summary>After an unlazy without a CR3 write (LAZY-1): finish_task_switch()'s or kthread_use_mm()'s mmdrop_lazy_tlb, or arm64's switch_to().</summary>
    public static BarrierSet AfterUnlazy { get; } = BarrierSet.Of(BarrierReason.MmdropLazyTlb, BarrierReason.SwitchTo);

    /// <summary>switch_mm_irqs_off(), another mm: "Rely on the smp_mb() implied by cpumask_set_cpu()'s atomic operation, or explicitly provide one" before reading tlb_gen (TLB-3).</summary>
    public static BarrierSet BeforeTlbGenRead { get; } = BarrierSet.Of(BarrierReason.AtomicRmw);

    /// <summary>switch_mm_irqs_off(), same mm, was lazy: the smp_mb() before reading tlb_gen (TLB-3).</summary>
    public static BarrierSet BeforeUnlazyTlbGenRead { get; } = BarrierSet.Of(BarrierReason.UnlazyTlbGen);

    /// <summary>flush_tlb_mm_range(): inc_mm_tlb_gen()'s full barrier before reading mm_cpumask and the CPUs' loaded_mm (TLB-3).</summary>
    public static BarrierSet AfterTlbGenIncrement { get; } = BarrierSet.Of(BarrierReason.IncTlbGen);

    /// <summary>How a barrier is named in a witness: its kernel function.</summary>
    public static string Describe(BarrierReason reason) => reason switch
    {
        BarrierReason.SchedSpinlock => "__schedule()'s smp_mb__after_spinlock()",
        BarrierReason.Cr3Write => "switch_mm_irqs_off()'s CR3 write",
        BarrierReason.MmdropLazyTlb => "mmdrop_lazy_tlb()",
        BarrierReason.MembarrierEntry => "membarrier's entry smp_mb() (a)",
        BarrierReason.MembarrierExit => "membarrier's exit smp_mb() (c)",
        BarrierReason.IpiHandler => "an IPI handler's smp_mb()",
        BarrierReason.ExitMm => "exit_mm()'s smp_mb__after_spinlock()",
        BarrierReason.KthreadUnuseMm => "kthread_unuse_mm()'s smp_mb__after_spinlock()",
        BarrierReason.ExecMmap => "membarrier_exec_mmap()'s smp_mb()",
        BarrierReason.RegisterSync => "sync_runqueues_membarrier_state()'s smp_mb()",
        BarrierReason.AtomicRmw => "switch_mm_irqs_off()'s cpumask_set_cpu()/smp_mb()",
        BarrierReason.SwitchTo => "arm64 __switch_to()'s dsb",
        BarrierReason.ArchSwitchMm => "membarrier_arch_switch_mm()'s smp_mb()",
        BarrierReason.UnlazyTlbGen => "switch_mm_irqs_off()'s smp_mb() before reading tlb_gen",
        BarrierReason.IncTlbGen => "inc_mm_tlb_gen()",
        BarrierReason.LockedAtomic => "an x86 LOCK-prefixed atomic_or()",
        _ => reason.ToString(),
    };

    /// <summary>"A, B or C" for a witness.</summary>
    public static string Describe(BarrierSet set)
    {
        string[] names = [.. set.Each().Select(Describe)];
        return names.Length <= 1 ? string.Concat(names) : string.Join(", ", names[..^1]) + " or " + names[^1];
    }
}
