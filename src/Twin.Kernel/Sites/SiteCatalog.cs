using Twin.Kernel.Arch;
using Twin.Kernel.Events;

namespace Twin.Kernel.Sites;

/// <summary>Whether a site runs a full memory barrier or a core-serializing event.</summary>
public enum SiteKind : byte
{
    Barrier = 1,
    Serialize = 2,
}

/// <summary>Model features a site is reached only with (a mutation campaign turns them on).</summary>
[Flags]
public enum SiteNeeds : byte
{
    None = 0,
    /// <summary>x86 text_poke_bp (<c>textPoke.enabled</c>), on the x86 profiles.</summary>
    TextPoke = 1,
    /// <summary>Deferred syncs to isolated CPUs (<c>isolation.cpus</c>, <c>isolation.defer</c>).</summary>
    Isolation = 2,
    /// <summary>CPU hotplug faults.</summary>
    Hotplug = 4,
}

/// <summary>One site: its name (as <c>omit</c> and <c>twin mutate</c> take it), what it runs, where the kernel has it, and on which profiles.</summary>
/// <param name="Reason">The <see cref="BarrierReason"/> or <see cref="CoreSerializeReason"/> its event carries (riscv's sync_core_before_usermode sites carry FenceI).</param>
/// <param name="Kernel">The kernel function and file, with its own words where it explains the barrier.</param>
/// <param name="Role">What it orders or serializes, and what it pairs with.</param>
public sealed record SiteInfo(OrderingSite Site, string Name, SiteKind Kind, byte Reason, string Kernel, string Role, Func<ArchProfile, bool> On, SiteNeeds Needs = SiteNeeds.None)
{
    public string ReasonName => Kind == SiteKind.Barrier ? ((BarrierReason)Reason).ToString() : ((CoreSerializeReason)Reason).ToString();
}

/// <summary>
/// Every barrier and core-serializing site of the kernel model, with the kernel source it stands
/// for (kernel-model §2–§4, §7). A site's architectures are the profiles on which the model runs it.
/// </summary>
public static class SiteCatalog
{
    private static readonly Func<ArchProfile, bool> Every = _ => true;
    private static readonly Func<ArchProfile, bool> X86 = a => a.IsX86;
    private static readonly Func<ArchProfile, bool> X86NoPti = a => a.IsX86 && !a.Pti;
    private static readonly Func<ArchProfile, bool> SyncCoreInstruction = a => a.SyncCoreBeforeUsermode() is not null;
    private static readonly Func<ArchProfile, bool> ExceptionReturn = a => a.ExceptionReturnSerializes;

    private static SiteInfo B(OrderingSite s, string name, BarrierReason r, string kernel, string role, Func<ArchProfile, bool> on) =>
        new(s, name, SiteKind.Barrier, (byte)r, kernel, role, on);

    private static SiteInfo S(OrderingSite s, string name, CoreSerializeReason r, string kernel, string role, Func<ArchProfile, bool> on, SiteNeeds needs = SiteNeeds.None) =>
        new(s, name, SiteKind.Serialize, (byte)r, kernel, role, on, needs);

    /// <summary>Every site, in <see cref="OrderingSite"/> order.</summary>
    public static IReadOnlyList<SiteInfo> All { get; } =
    [
        B(OrderingSite.SchedSpinlock, "__schedule.smp_mb__after_spinlock", BarrierReason.SchedSpinlock,
            "kernel/sched/core.c __schedule(): rq_lock(); smp_mb__after_spinlock()",
            "\"a full barrier after coming from user-space, before storing to rq->curr\": pairs with membarrier's exit barrier (c) (scenario B, C's (d))", Every),
        B(OrderingSite.SwitchMmCpumask, "switch_mm.cpumask_set_cpu", BarrierReason.AtomicRmw,
            "arch/x86/mm/tlb.c switch_mm_irqs_off(): cpumask_set_cpu(cpu, mm_cpumask(next)), else smp_mb() (\"Rely on the smp_mb() implied by cpumask_set_cpu()'s atomic operation, or explicitly provide one\")",
            "orders loaded_mm = LOADED_MM_SWITCHING before the tlb_gen read (pairs with inc_mm_tlb_gen); after rq->curr, so also a barrier before the new task's first user access", X86),
        B(OrderingSite.SwitchMmCr3Barrier, "switch_mm.cr3.mb", BarrierReason.Cr3Write,
            "arch/x86/mm/tlb.c switch_mm_irqs_off() -> load_new_mm_cr3(): \"Writing to CR3 provides that full memory barrier and core serializing instruction\"",
            "the barrier after rq->curr that __schedule()'s comment names for x86 (\"mm ? switch_mm() : mmdrop()\"): pairs with membarrier's entry barrier (a)", X86),
        B(OrderingSite.SwitchMmTlbGenBarrier, "switch_mm.tlb_gen.mb", BarrierReason.UnlazyTlbGen,
            "arch/x86/mm/tlb.c switch_mm_irqs_off(), same mm and was_lazy: smp_mb() before reading tlb_gen (\"The barrier synchronizes with the tlb_gen increment in the TLB shootdown code\")",
            "orders the unlazy before the tlb_gen read; after rq->curr, so also a second (e) on a kernel -> user switch to the lazily borrowed mm", X86),
        B(OrderingSite.LeaveMmCr3Barrier, "leave_mm.cr3.mb", BarrierReason.Cr3Write,
            "arch/x86/mm/tlb.c switch_mm_irqs_off(NULL, &init_mm, NULL) (leave_mm(), flush_tlb_func() on a lazy CPU, idle before offline): the CR3 write",
            "a full barrier while the CPU goes to init_mm; no user access follows it", X86),
        B(OrderingSite.ArchSwitchMm, "membarrier_arch_switch_mm", BarrierReason.ArchSwitchMm,
            "arch/powerpc/include/asm/membarrier.h, arch/riscv/include/asm/membarrier.h membarrier_arch_switch_mm(): smp_mb() when next is registered",
            "the barrier after rq->curr for a switch to another registered mm: pairs with membarrier's entry barrier (a)", a => a.ArchSwitchMmBarrier),
        B(OrderingSite.SwitchTo, "__switch_to.dsb", BarrierReason.SwitchTo,
            "arch/arm64/kernel/process.c __switch_to(): dsb(ish) (\"This full barrier is also required by the membarrier system call\")",
            "arm64's barrier after rq->curr on every switch: pairs with membarrier's entry barrier (a)", a => a.SwitchToIsFullBarrier),
        B(OrderingSite.FinishTaskSwitchMmdrop, "finish_task_switch.mmdrop_lazy_tlb", BarrierReason.MmdropLazyTlb,
            "kernel/sched/core.c finish_task_switch(): mmdrop_lazy_tlb_sched(mm) for kernel -> user (atomic_dec_and_test, or smp_mb() without MMU_LAZY_TLB_REFCOUNT)",
            "scenario C's (e): the barrier after rq->curr when a user task follows a kernel thread; pairs with membarrier's entry barrier (a)", Every),
        B(OrderingSite.KthreadUseMmMmdrop, "kthread_use_mm.mmdrop_lazy_tlb", BarrierReason.MmdropLazyTlb,
            "kernel/kthread.c kthread_use_mm(): mmdrop_lazy_tlb(active_mm) (\"A full memory barrier for membarrier {PRIVATE,GLOBAL}_EXPEDITED is implicitly provided by mmdrop_lazy_tlb()\")",
            "scenario E's (g): after tsk->mm = mm, before the kthread's user accesses; pairs with membarrier's entry barrier (a)", Every),
        B(OrderingSite.KthreadUnuseMm, "kthread_unuse_mm.smp_mb__after_spinlock", BarrierReason.KthreadUnuseMm,
            "kernel/kthread.c kthread_unuse_mm(): task_lock(); smp_mb__after_spinlock() (\"Membarrier requires a memory barrier after accessing user-space memory, before clearing tsk->mm\")",
            "scenario E's (d): pairs with membarrier's exit barrier (c)", Every),
        B(OrderingSite.ExitMm, "exit_mm.smp_mb__after_spinlock", BarrierReason.ExitMm,
            "kernel/exit.c exit_mm(): task_lock(); smp_mb__after_spinlock() (\"Membarrier requires a memory barrier after accessing user-space memory, before clearing tsk->mm or the rq->membarrier_state\")",
            "scenario D's (d): pairs with membarrier's exit barrier (c)", Every),
        B(OrderingSite.ExecMmap, "membarrier_exec_mmap.smp_mb", BarrierReason.ExecMmap,
            "kernel/sched/membarrier.c membarrier_exec_mmap(): smp_mb() (\"to guarantee that no memory access prior to exec is reordered after clearing this state\")",
            "orders the old image's accesses before the membarrier state is cleared and the new mm installed", Every),
        B(OrderingSite.MembarrierEntry, "membarrier.a", BarrierReason.MembarrierEntry,
            "kernel/sched/membarrier.c membarrier_{private,global}_expedited(): smp_mb() /* system call entry is not a mb. */ (\"Matches memory barriers after rq->curr modification in scheduler\")",
            "(a): the caller's accesses before the call, before its read of rq->curr and its IPIs (scenario A)", Every),
        B(OrderingSite.MembarrierExit, "membarrier.c", BarrierReason.MembarrierExit,
            "kernel/sched/membarrier.c membarrier_{private,global}_expedited(): smp_mb() /* exit from system call is not a mb */ (\"Matches memory barriers before rq->curr modification in scheduler\")",
            "(c): the other CPUs' barriers before the caller's accesses after the call (scenario B)", Every),
        B(OrderingSite.IpiMb, "ipi_mb.smp_mb", BarrierReason.IpiHandler,
            "kernel/sched/membarrier.c ipi_mb(): smp_mb() /* IPIs should be serializing but paranoid. */",
            "the barrier membarrier's IPI puts into a running sibling: pairs with (a) and (c)", Every),
        B(OrderingSite.IpiSyncCoreBarrier, "ipi_sync_core.smp_mb", BarrierReason.IpiHandler,
            "kernel/sched/membarrier.c ipi_sync_core(): smp_mb() before sync_core_before_usermode() (\"see scenario B in the big comment at the top of this file\")",
            "the SYNC_CORE IPI's barrier: pairs with (a) and (c)", Every),
        B(OrderingSite.IpiRseqBarrier, "ipi_rseq.smp_mb", BarrierReason.IpiHandler,
            "kernel/sched/membarrier.c ipi_rseq(): smp_mb() (\"Ensure that all stores done by the calling thread are visible to the current task before the current task resumes\")",
            "the RSEQ IPI's barrier: pairs with (a) and (c)", Every),
        B(OrderingSite.IpiSyncRqStateBarrier, "ipi_sync_rq_state.smp_mb", BarrierReason.IpiHandler,
            "kernel/sched/membarrier.c ipi_sync_rq_state(): this_cpu_write(runqueues.membarrier_state, ...); smp_mb()",
            "makes the runqueue's new membarrier_state visible before the CPU's next user accesses (registration)", Every),
        B(OrderingSite.RegisterSync, "sync_runqueues_membarrier_state.smp_mb", BarrierReason.RegisterSync,
            "kernel/sched/membarrier.c sync_runqueues_membarrier_state(), single user: smp_mb() (\"This guarantees that no memory access following registration is reordered before registration\")",
            "the single-user registration's runqueue state before the caller's later accesses", Every),
        B(OrderingSite.IncTlbGen, "inc_mm_tlb_gen", BarrierReason.IncTlbGen,
            "arch/x86/include/asm/tlbflush.h inc_mm_tlb_gen(): atomic64_inc_return() (\"This also serves as a full barrier that synchronizes with switch_mm()\")",
            "orders the page-table writes and tlb_gen increment before reading mm_cpumask and loaded_mm (pairs with switch_mm.cpumask_set_cpu); x86 only: on the other profiles the model runs x86's shootdown as a stand-in for their own (arm64's TLBI between dsb barriers), whose barriers are not sites", X86),
        B(OrderingSite.RegisterAtomicOr, "membarrier_register.atomic_or", BarrierReason.LockedAtomic,
            "kernel/sched/membarrier.c membarrier_register_{global,private}_expedited(): atomic_or() of the state bits, then of the ready bits; on x86 a LOCK OR, a full barrier in hardware though the kernel's memory model orders nothing by it",
            "x86 only: orders the registration's runqueue state before the caller's return to user, beside sync_runqueues_membarrier_state()'s smp_mb()", X86),

        S(OrderingSite.SwitchMmCr3Serialize, "switch_mm.cr3.serialize", CoreSerializeReason.Cr3Write,
            "arch/x86/mm/tlb.c switch_mm_irqs_off() -> load_new_mm_cr3(): the CR3 write is core serializing",
            "SYNC_CORE's core serialization on a switch to another mm (P-SC)", X86),
        S(OrderingSite.LeaveMmCr3Serialize, "leave_mm.cr3.serialize", CoreSerializeReason.Cr3Write,
            "arch/x86/mm/tlb.c switch_mm_irqs_off(NULL, &init_mm, NULL): the CR3 write",
            "serializes the CPU as it goes to init_mm", X86),
        S(OrderingSite.SwitchMmFenceI, "switch_mm.fence_i", CoreSerializeReason.FenceI,
            "arch/riscv/mm/context.c flush_icache_deferred(): local_flush_icache_all() when the CPU's icache_stale_mask bit is set (prepare_sync_core_cmd())",
            "riscv SYNC_CORE for a CPU that switches into the mm after the call", a => a.IcacheStaleMask),
        S(OrderingSite.FinishTaskSwitchSyncCore, "finish_task_switch.sync_core", CoreSerializeReason.SyncCore,
            "kernel/sched/core.c finish_task_switch() -> include/linux/sched/mm.h membarrier_mm_sync_core_before_usermode(): sync_core_before_usermode()",
            "SYNC_CORE when a kernel -> user switch unlazies without a CR3 write (B8)", SyncCoreInstruction),
        S(OrderingSite.KthreadUseMmSyncCore, "kthread_use_mm.sync_core", CoreSerializeReason.SyncCore,
            "the twin's closing of B8b (Piggin's report): sync_core_before_usermode() when kthread_use_mm unlazies without a CR3 write; mainline has none",
            "SYNC_CORE for a thread that follows such a kthread on the mm", SyncCoreInstruction),
        S(OrderingSite.IpiSyncCoreSerialize, "ipi_sync_core.sync_core", CoreSerializeReason.IpiSyncCore,
            "kernel/sched/membarrier.c ipi_sync_core(): sync_core_before_usermode()",
            "SYNC_CORE on a CPU running the mm: the core discards stale instructions before its next user instruction", SyncCoreInstruction),
        S(OrderingSite.IrqReturnIret, "irq_return.iret", CoreSerializeReason.Iret,
            "arch/x86/entry/entry_64.S: an interrupt returns to kernel code by IRET",
            "core serializing; SYNC_CORE's IPI must not rely on it (B4)", X86),
        S(OrderingSite.IrqReturnEret, "irq_return.eret", CoreSerializeReason.ExceptionReturn,
            "arm64 ERET / powerpc rfi from an interrupt to kernel code (Documentation/features/sched/membarrier-sync-core/arch-support.txt)",
            "\"implicit context synchronization as a result of exception return when returning from IPI handler\"", ExceptionReturn),
        S(OrderingSite.UserReturnIret, "exit_to_user.iret", CoreSerializeReason.Iret,
            "arch/x86/entry/entry_64.S: return to user by IRET (interrupts, ret_from_fork, do_syscall_64()'s slow path)",
            "core serializing before the task's next user instruction", X86NoPti),
        S(OrderingSite.UserReturnEret, "exit_to_user.eret", CoreSerializeReason.ExceptionReturn,
            "arm64 ERET / powerpc rfi to user (arch-support.txt)",
            "\"implicit context synchronization ... when returning to user-space\": how arm64 and powerpc meet SYNC_CORE", ExceptionReturn),
        S(OrderingSite.UserReturnPtiCr3, "exit_to_user.pti_cr3", CoreSerializeReason.PtiCr3,
            "arch/x86/entry/calling.h SWITCH_TO_USER_CR3 (PTI): a CR3 write on every return to user",
            "why sync_core_before_usermode() returns early under PTI (arch/x86/include/asm/sync_core.h)", a => a.Pti),
        S(OrderingSite.ExceptionIret, "int3_nmi_return.iret", CoreSerializeReason.Iret,
            "arch/x86/entry/entry_64.S: the INT3 and NMI handlers return by IRET",
            "serializes a CPU that ran a patched site in an exception handler (T-checks)", X86, SiteNeeds.TextPoke),
        S(OrderingSite.DoSyncCore, "do_sync_core", CoreSerializeReason.TextPokeSync,
            "arch/x86/kernel/alternative.c do_sync_core(): sync_core(), sent by smp_text_poke_sync_each_cpu() (text_poke_sync())",
            "text_poke_bp's three syncs: no CPU runs a stale instruction of a patched site (T1-T4)", X86, SiteNeeds.TextPoke),
        S(OrderingSite.CtWorkSync, "ct_work.sync_core", CoreSerializeReason.TextPokeSync,
            "Valentin Schneider's series: the deferred CT_WORK_SYNC runs sync_core() at the isolated CPU's next kernel entry",
            "the deferred text_poke sync of an isolated CPU (I1-I4)", X86, SiteNeeds.TextPoke | SiteNeeds.Isolation),
        S(OrderingSite.CpuBoot, "cpu_boot", CoreSerializeReason.CpuBoot,
            "kernel/cpu.c bringup: a CPU coming online starts from INIT/SIPI (reset)",
            "a CPU that missed a sync while offline starts serialized (text_poke_sync() skips offline CPUs)", Every, SiteNeeds.Hotplug | SiteNeeds.TextPoke),
    ];

    private static readonly byte[] s_reasons = [0, .. All.Select(s => s.Reason)];

    static SiteCatalog()
    {
        for (int i = 0; i < All.Count; i++)
        {
            if ((int)All[i].Site != i + 1) throw new InvalidOperationException($"SiteCatalog entry {i} is {All[i].Site}: entries must follow OrderingSite's order");
        }
    }

    public static SiteInfo Get(OrderingSite site) => All[(int)site - 1];

    /// <summary>The reason a site's event carries, on the model's per-barrier path.</summary>
    public static byte ReasonOf(OrderingSite site) => s_reasons[(int)site];

    /// <summary>The site named <paramref name="name"/> (its catalogue name, or its enum name), if any.</summary>
    public static SiteInfo? Find(string name) =>
        All.FirstOrDefault(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase) || s.Site.ToString().Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Every barrier site whose event carries <paramref name="reason"/> (what <c>litmus.omitBarrier</c> and <c>--omit REASON</c> leave out).</summary>
    public static SiteSet BarriersOf(BarrierReason reason) =>
        SiteSet.Of(All.Where(s => s.Kind == SiteKind.Barrier && s.Reason == (byte)reason).Select(s => s.Site));

    /// <summary>The sites an architecture profile runs.</summary>
    public static IEnumerable<SiteInfo> On(ArchProfile arch) => All.Where(s => s.On(arch));
}
