using Twin.Kernel.Arch;

namespace Twin.Kernel.Sites;

/// <summary>
/// Why the model says a site can be left out on a profile without any checker or litmus outcome
/// noticing: the other sites that give the same ordering on every path through it
/// (<see cref="CoveredBy"/>; <c>twin mutate</c> removes them with it and expects a kill; empty when
/// nothing needs the site at all), and the reason in the kernel's terms, for a reviewer to check
/// against the source.
/// </summary>
public sealed record SiteClaim(OrderingSite Site, Func<ArchProfile, bool> On, IReadOnlyList<OrderingSite> CoveredBy, string Why);

/// <summary>The model's explanations of the removals it expects to survive (docs/mutate.md).</summary>
public static class SiteClaims
{
    private static readonly Func<ArchProfile, bool> X86NoPti = a => a.IsX86 && !a.Pti;
    private static readonly Func<ArchProfile, bool> Pti = a => a.Pti;

    public static IReadOnlyList<SiteClaim> All { get; } =
    [
        new(OrderingSite.LeaveMmCr3Barrier, a => a.IsX86, [],
            "incidental: switch_mm_irqs_off(NULL, &init_mm, NULL) stores neither rq->curr nor current->mm (a kernel thread or idle runs, " +
            "lazily or going offline), so no membarrier pairing starts there, and it reads no tlb_gen (init_mm is never a flush_tlb_mm_range() " +
            "target), so no TLB pairing does either; the CR3 write is a full barrier because it serializes, not because anything needs one"),
        new(OrderingSite.FinishTaskSwitchMmdrop, a => a.SwitchToIsFullBarrier, [OrderingSite.SwitchTo],
            "redundant on arm64: __schedule()'s comment gives \"switch_to() for arm64\" as the barrier after rq->curr, and __switch_to()'s " +
            "dsb(ish) runs on every switch, kernel -> user included, before finish_task_switch()"),
        new(OrderingSite.RegisterAtomicOr, a => a.IsX86, [OrderingSite.RegisterSync, OrderingSite.IpiSyncRqStateBarrier],
            "incidental: x86's LOCK OR is a full barrier, but the kernel counts on sync_runqueues_membarrier_state()'s smp_mb() (single user) " +
            "and ipi_sync_rq_state()'s smp_mb() to order the registration (its atomic_or()s are unordered in the kernel's memory model)"),
        new(OrderingSite.SwitchMmCr3Serialize, Pti, [OrderingSite.UserReturnPtiCr3],
            "redundant under PTI: every return to user writes CR3 (SWITCH_TO_USER_CR3, arch/x86/entry/calling.h), which serializes before " +
            "the first user instruction; that is why sync_core_before_usermode() returns early when X86_FEATURE_PTI is set"),
        new(OrderingSite.LeaveMmCr3Serialize, X86NoPti, [OrderingSite.SwitchMmCr3Serialize],
            "redundant: after switch_mm_irqs_off(NULL, &init_mm) the CPU's loaded_mm is init_mm, so the next switch to a user task changes mm " +
            "and writes CR3 (\"Writing to CR3 provides that full memory barrier and core serializing instruction\") before its first user instruction"),
        new(OrderingSite.LeaveMmCr3Serialize, Pti, [OrderingSite.SwitchMmCr3Serialize, OrderingSite.UserReturnPtiCr3],
            "redundant: the next switch to a user task changes mm from init_mm and writes CR3, and under PTI every return to user writes CR3 again"),
        new(OrderingSite.IrqReturnIret, X86NoPti, [OrderingSite.IpiSyncCoreSerialize],
            "redundant: ipi_sync_core() calls sync_core_before_usermode() itself (the B4 fix: it no longer trusts the interrupt's IRET, which " +
            "may not come if the exit reschedules), and text_poke's do_sync_core() calls sync_core(); nothing waits for the IRET back to kernel code"),
        new(OrderingSite.IrqReturnIret, Pti, [OrderingSite.UserReturnPtiCr3],
            "redundant under PTI: the interrupted CPU reaches user mode only through SWITCH_TO_USER_CR3, which serializes, so the IRET back to " +
            "kernel code is not what SYNC_CORE counts on (ipi_sync_core()'s sync_core_before_usermode() returns early under PTI for this reason)"),
        new(OrderingSite.IrqReturnEret, a => a.ExceptionReturnSerializes, [OrderingSite.UserReturnEret],
            "redundant: an IPI taken in kernel mode returns to kernel code, and the CPU reaches user mode only through the exception return " +
            "to user, which is context synchronizing too (arch-support.txt: \"... and when returning to user-space\")"),
        new(OrderingSite.UserReturnIret, X86NoPti, [OrderingSite.IpiSyncCoreSerialize],
            "redundant: since the B4/B5 fixes SYNC_CORE does not rely on the return to user being IRET: ipi_sync_core() runs " +
            "sync_core_before_usermode() on every target, and a CPU that switches into the mm serializes by the CR3 write or " +
            "membarrier_mm_sync_core_before_usermode() in finish_task_switch(); most returns are SYSRET anyway"),
        new(OrderingSite.ExceptionIret, a => a.IsX86, [OrderingSite.DoSyncCore],
            "redundant: text_poke_bp() makes every CPU serialize at each of its three steps by do_sync_core()'s sync_core() " +
            "(smp_text_poke_sync_each_cpu()); the INT3 or NMI handler's own IRET is not one of the serializations it counts on"),
        new(OrderingSite.CpuBoot, a => a.ExceptionReturnSerializes, [OrderingSite.UserReturnEret],
            "redundant on arm64 and powerpc: there is no text_poke_bp() there, and a CPU coming online reaches user mode only through an exception " +
            "return, context synchronizing, before any instruction of a mm that asked for SYNC_CORE while it was offline"),
        new(OrderingSite.CpuBoot, a => a.IcacheStaleMask, [OrderingSite.SwitchMmFenceI],
            "redundant on riscv: prepare_sync_core_cmd() sets every CPU's bit in the mm's icache_stale_mask (cpumask_setall), offline CPUs " +
            "included, so a CPU coming online runs FENCE.I when it first switches into the mm (flush_icache_deferred())"),
    ];

    public static SiteClaim? For(OrderingSite site, ArchProfile arch) => All.FirstOrDefault(c => c.Site == site && c.On(arch));
}
