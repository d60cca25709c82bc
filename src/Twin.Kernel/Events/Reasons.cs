namespace Twin.Kernel.Events;

/// <summary>Where a full memory barrier (smp_mb or an implied one) came from.</summary>
public enum BarrierReason : byte
{
    /// <summary><c>smp_mb__after_spinlock()</c> after <c>rq_lock</c> in <c>__schedule()</c>, before storing rq->curr.</summary>
    SchedSpinlock = 1,
    /// <summary>The CR3 write in <c>switch_mm_irqs_off()</c> (x86: also core serializing).</summary>
    Cr3Write = 2,
    /// <summary><c>mmdrop_lazy_tlb()</c> / <c>mmdrop_lazy_tlb_sched()</c>: kernel → user back to a borrowed mm, and the end of kthread_use_mm.</summary>
    MmdropLazyTlb = 3,
    /// <summary>membarrier's entry smp_mb (a): "system call entry is not a mb".</summary>
    MembarrierEntry = 4,
    /// <summary>membarrier's exit smp_mb (c): "exit from system call is not a mb".</summary>
    MembarrierExit = 5,
    /// <summary>The smp_mb of <c>ipi_mb</c>, <c>ipi_sync_core</c>, <c>ipi_rseq</c> or <c>ipi_sync_rq_state</c>.</summary>
    IpiHandler = 6,
    /// <summary><c>smp_mb__after_spinlock()</c> after <c>task_lock</c> in <c>exit_mm()</c> (scenario D, B2).</summary>
    ExitMm = 7,
    /// <summary><c>smp_mb__after_spinlock()</c> in <c>kthread_unuse_mm()</c> (scenario E, B3).</summary>
    KthreadUnuseMm = 8,
    /// <summary><c>smp_mb()</c> in <c>membarrier_exec_mmap()</c> before clearing the state.</summary>
    ExecMmap = 9,
    /// <summary>The smp_mb after writing rq->membarrier_state at registration (single user shortcut).</summary>
    RegisterSync = 10,
    /// <summary>x86 <c>switch_mm_irqs_off()</c>: the fully ordered <c>cpumask_set_cpu()</c>, or the <c>smp_mb()</c> when the CPU is already in mm_cpumask.</summary>
    AtomicRmw = 11,
    /// <summary>arm64 <c>switch_to()</c> (dsb): the barrier after rq->curr on weakly ordered arm64.</summary>
    SwitchTo = 12,
    /// <summary><c>membarrier_arch_switch_mm()</c> on powerpc and riscv when switching to a registered mm.</summary>
    ArchSwitchMm = 13,
    /// <summary>The smp_mb in <c>switch_mm_irqs_off()</c> before reading tlb_gen on the same-mm unlazy path (pairs with inc_mm_tlb_gen).</summary>
    UnlazyTlbGen = 14,
    /// <summary><c>inc_mm_tlb_gen()</c> in <c>flush_tlb_mm_range()</c>: a fully ordered atomic (journaled as AtomicRmw before 2026-12).</summary>
    IncTlbGen = 15,
    /// <summary>
    /// x86: a LOCK-prefixed atomic that the kernel's memory model leaves unordered (the
    /// <c>atomic_or()</c>s of membarrier registration) is a full barrier on x86 hardware all the same.
    /// </summary>
    LockedAtomic = 16,
}

/// <summary>Where a core-serializing event (the CPU discards prefetched instructions) came from (kernel-model §2.6).</summary>
public enum CoreSerializeReason : byte
{
    /// <summary>x86 CR3 write in <c>switch_mm_irqs_off()</c>.</summary>
    Cr3Write = 1,
    /// <summary>x86 IRET, to user or to kernel.</summary>
    Iret = 2,
    /// <summary><c>sync_core()</c> from <c>sync_core_before_usermode()</c> (finish_task_switch, kthread_use_mm).</summary>
    SyncCore = 3,
    /// <summary><c>ipi_sync_core</c>: <c>sync_core_before_usermode()</c> in the IPI handler.</summary>
    IpiSyncCore = 4,
    /// <summary>x86 PTI: <c>SWITCH_TO_USER_CR3</c> on every return to user.</summary>
    PtiCr3 = 5,
    /// <summary>arm64 / powerpc exception return (ERET, rfi): context synchronizing.</summary>
    ExceptionReturn = 6,
    /// <summary>riscv FENCE.I (sync_core_before_usermode, or switch_mm with the icache_stale_mask bit set).</summary>
    FenceI = 7,
    /// <summary>x86 <c>sync_core()</c> in <c>do_sync_core()</c>, text_poke's sync (or context tracking's deferred CT_WORK_SYNC).</summary>
    TextPokeSync = 8,
    /// <summary>A CPU brought back online starts from reset (INIT/SIPI): serialized.</summary>
    CpuBoot = 9,
}

/// <summary>How a CPU left the kernel for user mode.</summary>
public enum ReturnPath : byte
{
    /// <summary>x86 SYSRET: not core serializing.</summary>
    Sysret = 1,
    /// <summary>x86 IRET: core serializing.</summary>
    Iret = 2,
    /// <summary>arm64 ERET / powerpc rfi: context synchronizing.</summary>
    ExceptionReturn = 3,
    /// <summary>riscv sret: not serializing.</summary>
    Sret = 4,
}

/// <summary>Why a CPU entered the kernel from user mode.</summary>
public enum EntryReason : byte
{
    Syscall = 1,
    /// <summary>Timer tick or IPI.</summary>
    Interrupt = 2,
}

/// <summary>Why a task's <c>mm</c> changed.</summary>
public enum MmChangeReason : byte
{
    Exec = 1,
    ExitMm = 2,
    KthreadUseMm = 3,
    KthreadUnuseMm = 4,
}

/// <summary>Why <c>rq->membarrier_state</c> was written (kernel-model §1.1).</summary>
public enum RqStateReason : byte
{
    /// <summary><c>membarrier_switch_mm()</c> in context_switch.</summary>
    SwitchMm = 1,
    /// <summary><c>membarrier_update_current_mm()</c> (kthread_use/unuse_mm, exit_mm).</summary>
    UpdateCurrentMm = 2,
    /// <summary><c>membarrier_exec_mmap()</c>.</summary>
    ExecMmap = 3,
    /// <summary><c>ipi_sync_rq_state()</c>.</summary>
    IpiSyncRqState = 4,
    /// <summary><c>sync_runqueues_membarrier_state()</c> single-user shortcut on the current CPU.</summary>
    RegisterLocal = 5,
}

/// <summary>IPI / cross-call handlers (kernel-model §1.4).</summary>
public enum IpiKind : byte
{
    Mb = 1,
    SyncCore = 2,
    Rseq = 3,
    SyncRqState = 4,
    FlushTlb = 5,
    /// <summary>x86 <c>enable_lam_func()</c> of <c>mm_enable_lam()</c>, over <c>mm_cpumask(mm)</c> (kernel-model §7.1).</summary>
    EnableLam = 6,
    /// <summary>x86 <c>do_sync_core()</c> of text_poke's <c>smp_text_poke_sync_each_cpu()</c>, to every online CPU (kernel-model §7.2).</summary>
    TextPokeSync = 7,
}

/// <summary>Why a CPU loaded LAM bits into CR3 and <c>cpu_tlbstate.lam</c> / the untag mask (kernel-model §7.1).</summary>
public enum LamLoadReason : byte
{
    /// <summary><c>switch_mm_irqs_off()</c> writing CR3 for the incoming mm.</summary>
    SwitchMm = 1,
    /// <summary><c>enable_lam_func()</c> run by the enable IPI on a CPU whose loaded_mm is the mm.</summary>
    EnableLamIpi = 2,
    /// <summary><c>enable_lam_func()</c> on the CPU calling <c>arch_prctl(ARCH_ENABLE_TAGGED_ADDR)</c>.</summary>
    EnableLamLocal = 3,
}
