using Twin.Kernel.Membarrier;
using Twin.Kernel.Tasks;
using static Twin.Kernel.Tests.Machines;

namespace Twin.Kernel.Tests;

/// <summary>
/// Exact journals of small machines with fixed timings (every kernel step 100 ns, every IPI 1 µs):
/// each transition rule of kernel-model §2 and §3, event for event, per CPU stream. A change in the
/// model's behaviour changes these lists; read the kernel reference in each comment before updating one.
/// </summary>
public sealed class TransitionTests
{
    /// <summary>
    /// One CPU: task t (process p) spins, sleeps, spins; kthread k spins meanwhile. idle → t writes CR3
    /// (another mm) and drops rq->prev_mm = init_mm (mmdrop_lazy_tlb's barrier); t → k enters lazy mode on
    /// mm 1; k → idle stays lazy (kernel → kernel); idle → t unlazies into mm 1 with tlb_gen current: a
    /// barrier before reading tlb_gen, no CR3 write, then finish_task_switch's mmdrop barrier; t returns
    /// from its sleep syscall by SYSRET.
    /// </summary>
    [Fact]
    public void user_to_kernel_is_lazy_kernel_to_kernel_stays_lazy_and_kernel_to_user_of_the_borrowed_mm_unlazies_without_CR3()
    {
        var (log, _, _) = EventLog.Run(With(1, User("t", "p", 0, Spin(1000), Sleep(5000), Spin(1000)), Kthread("k", 0, Spin(3000))));
        Journal.Expect(
        [
            "CpuBooted { Cpu = 0 }",
            "TaskEnqueued { Cpu = 0, Task = 1 }",
            "TaskEnqueued { Cpu = 0, Task = 2 }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = -1, Next = 1, PrevState = Runnable, PrevMm = 0 }",
            "FullBarrier { Cpu = 0, Reason = AtomicRmw }",
            "MmSwitchBegan { Cpu = 0, Next = 1, NextTlbGen = 1 }",
            "MmSwitched { Cpu = 0, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "FullBarrier { Cpu = 0, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 0, Reason = Cr3Write }",
            "RqPrevMmCleared { Cpu = 0, Mm = 0 }",
            "FullBarrier { Cpu = 0, Reason = MmdropLazyTlb }",
            "CoreSerialized { Cpu = 0, Reason = Iret }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Iret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = 1, Next = 2, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 0, Mm = 1 }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = 2, Next = -1, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 0, Mm = 1 }",
            "TaskEnqueued { Cpu = 0, Task = 1 }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = -1, Next = 1, PrevState = Runnable, PrevMm = 1 }",
            "FullBarrier { Cpu = 0, Reason = UnlazyTlbGen }",
            "MmSwitched { Cpu = 0, Prev = 1, Next = 1, Cr3Written = False, WasLazy = True, TlbGen = 1 }",
            "RqPrevMmCleared { Cpu = 0, Mm = 1 }",
            "FullBarrier { Cpu = 0, Reason = MmdropLazyTlb }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Sysret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = 1, Next = -1, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 0, Mm = 1 }",
        ], log.CpuLines(0));
    }

    /// <summary>
    /// a and b are threads of p (mm 1); c is process q (mm 2). a → b (yield) journals no mm event:
    /// switch_mm_irqs_off returns at once. b → c sets CPU 0 in mm 2's cpumask and writes CR3; c → a
    /// again writes CR3 (mm 1 kept CPU 0 in its mask: x86 clears it lazily, so no MmCpumaskSet). New tasks
    /// return to user through ret_from_fork (IRET); yielders return from their syscall by SYSRET.
    /// </summary>
    [Fact]
    public void user_to_user_of_one_mm_touches_nothing_and_of_another_mm_sets_the_cpumask_and_writes_CR3()
    {
        var (log, _, _) = EventLog.Run(With(1,
            User("a", "p", 0, Spin(1000), Do(StepKind.Yield), Spin(1000)),
            User("b", "p", 0, Spin(1000), Do(StepKind.Yield), Spin(1000)),
            User("c", "q", 0, Spin(1000))));
        Journal.Expect(
        [
            "CpuBooted { Cpu = 0 }",
            "TaskEnqueued { Cpu = 0, Task = 1 }",
            "TaskEnqueued { Cpu = 0, Task = 2 }",
            "TaskEnqueued { Cpu = 0, Task = 3 }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = -1, Next = 1, PrevState = Runnable, PrevMm = 0 }",
            "FullBarrier { Cpu = 0, Reason = AtomicRmw }",
            "MmSwitchBegan { Cpu = 0, Next = 1, NextTlbGen = 1 }",
            "MmSwitched { Cpu = 0, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "FullBarrier { Cpu = 0, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 0, Reason = Cr3Write }",
            "RqPrevMmCleared { Cpu = 0, Mm = 0 }",
            "FullBarrier { Cpu = 0, Reason = MmdropLazyTlb }",
            "CoreSerialized { Cpu = 0, Reason = Iret }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Iret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = 1, Next = 2, PrevState = Runnable, PrevMm = -1 }",
            "CoreSerialized { Cpu = 0, Reason = Iret }",
            "ReturnedToUser { Cpu = 0, Task = 2, Path = Iret }",
            "KernelEntered { Cpu = 0, Task = 2, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = 2, Next = 3, PrevState = Runnable, PrevMm = -1 }",
            "FullBarrier { Cpu = 0, Reason = AtomicRmw }",
            "MmSwitchBegan { Cpu = 0, Next = 2, NextTlbGen = 1 }",
            "MmSwitched { Cpu = 0, Prev = 1, Next = 2, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "FullBarrier { Cpu = 0, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 0, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 0, Reason = Iret }",
            "ReturnedToUser { Cpu = 0, Task = 3, Path = Iret }",
            "KernelEntered { Cpu = 0, Task = 3, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = 3, Next = 1, PrevState = Sleeping, PrevMm = -1 }",
            "FullBarrier { Cpu = 0, Reason = AtomicRmw }",
            "MmSwitchBegan { Cpu = 0, Next = 1, NextTlbGen = 1 }",
            "MmSwitched { Cpu = 0, Prev = 2, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "FullBarrier { Cpu = 0, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 0, Reason = Cr3Write }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Sysret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = 1, Next = 2, PrevState = Sleeping, PrevMm = -1 }",
            "ReturnedToUser { Cpu = 0, Task = 2, Path = Sysret }",
            "KernelEntered { Cpu = 0, Task = 2, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = 2, Next = -1, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 0, Mm = 1 }",
        ], log.CpuLines(0));
    }

    /// <summary>
    /// a registers PRIVATE_EXPEDITED with b running on CPU 1 (mm_users = 2): atomic_or, synchronize_rcu
    /// (CPU 1 is in user mode: quiescent), then ipi_sync_rq_state on each CPU running the mm (CPU 0
    /// locally), then READY. The call: (a), sampling rq->curr of both CPUs, an IPI to CPU 1 only
    /// (smp_call_function_many skips the caller), (c).
    /// </summary>
    [Fact]
    public void membarrier_registration_syncs_runqueues_and_private_expedited_ipis_the_other_CPU_between_its_barriers()
    {
        var (log, _, _) = EventLog.Run(With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), Spin(20000), Mb(MembarrierCmd.PrivateExpedited)),
            User("b", "p", 1, Spin(40000))));
        Journal.Expect(
        [
            "CpuBooted { Cpu = 0 }",
            "TaskEnqueued { Cpu = 0, Task = 1 }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = -1, Next = 1, PrevState = Runnable, PrevMm = 0 }",
            "FullBarrier { Cpu = 0, Reason = AtomicRmw }",
            "MmSwitchBegan { Cpu = 0, Next = 1, NextTlbGen = 1 }",
            "MmSwitched { Cpu = 0, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "FullBarrier { Cpu = 0, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 0, Reason = Cr3Write }",
            "RqPrevMmCleared { Cpu = 0, Mm = 0 }",
            "FullBarrier { Cpu = 0, Reason = MmdropLazyTlb }",
            "CoreSerialized { Cpu = 0, Reason = Iret }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Iret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "MembarrierEntered { Cpu = 0, Task = 1, Mm = 1, Cmd = 16, Flags = 0, CpuId = -1 }",
            "FullBarrier { Cpu = 0, Reason = LockedAtomic }",
            "MembarrierSampled { Cpu = 0, Targets = {0,1} }",
            "RqMembarrierStateSet { Cpu = 0, State = 2, Reason = IpiSyncRqState }",
            "FullBarrier { Cpu = 0, Reason = IpiHandler }",
            "IpiHandled { Cpu = 0, Ipi = 0, Kind = SyncRqState, From = 0 }",
            "FullBarrier { Cpu = 0, Reason = LockedAtomic }",
            "MembarrierExited { Cpu = 0, Task = 1, Ret = 0 }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Sysret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "MembarrierEntered { Cpu = 0, Task = 1, Mm = 1, Cmd = 8, Flags = 0, CpuId = -1 }",
            "FullBarrier { Cpu = 0, Reason = MembarrierEntry }",
            "MembarrierSampled { Cpu = 0, Targets = {0,1} }",
            "FullBarrier { Cpu = 0, Reason = MembarrierExit }",
            "MembarrierExited { Cpu = 0, Task = 1, Ret = 0 }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Sysret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = 1, Next = -1, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 0, Mm = 1 }",
        ], log.CpuLines(0));
    }

    /// <summary>
    /// CPU 1 runs b in user mode; each IPI enters the kernel, runs its handler (ipi_sync_rq_state
    /// copies the mm's state into the runqueue; ipi_mb is a full barrier) and returns by IRET.
    /// </summary>
    [Fact]
    public void the_target_of_private_expedited_runs_ipi_mb_in_hardirq_context_and_returns_by_IRET()
    {
        var (log, _, _) = EventLog.Run(With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), Spin(20000), Mb(MembarrierCmd.PrivateExpedited)),
            User("b", "p", 1, Spin(40000))));
        Journal.Expect(
        [
            "CpuBooted { Cpu = 1 }",
            "TaskEnqueued { Cpu = 1, Task = 2 }",
            "FullBarrier { Cpu = 1, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 1, Prev = -2, Next = 2, PrevState = Runnable, PrevMm = 0 }",
            "FullBarrier { Cpu = 1, Reason = AtomicRmw }",
            "MmSwitchBegan { Cpu = 1, Next = 1, NextTlbGen = 1 }",
            "MmSwitched { Cpu = 1, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "FullBarrier { Cpu = 1, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 1, Reason = Cr3Write }",
            "RqPrevMmCleared { Cpu = 1, Mm = 0 }",
            "FullBarrier { Cpu = 1, Reason = MmdropLazyTlb }",
            "CoreSerialized { Cpu = 1, Reason = Iret }",
            "ReturnedToUser { Cpu = 1, Task = 2, Path = Iret }",
            "KernelEntered { Cpu = 1, Task = 2, Reason = Interrupt }",
            "RqMembarrierStateSet { Cpu = 1, State = 2, Reason = IpiSyncRqState }",
            "FullBarrier { Cpu = 1, Reason = IpiHandler }",
            "IpiHandled { Cpu = 1, Ipi = 1000, Kind = SyncRqState, From = 0 }",
            "CoreSerialized { Cpu = 1, Reason = Iret }",
            "ReturnedToUser { Cpu = 1, Task = 2, Path = Iret }",
            "KernelEntered { Cpu = 1, Task = 2, Reason = Interrupt }",
            "FullBarrier { Cpu = 1, Reason = IpiHandler }",
            "IpiHandled { Cpu = 1, Ipi = 2000, Kind = Mb, From = 0 }",
            "CoreSerialized { Cpu = 1, Reason = Iret }",
            "ReturnedToUser { Cpu = 1, Task = 2, Path = Iret }",
            "KernelEntered { Cpu = 1, Task = 2, Reason = Syscall }",
            "FullBarrier { Cpu = 1, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 1, Prev = 2, Next = -2, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 1, Mm = 1 }",
        ], log.CpuLines(1));
    }

    /// <summary>
    /// a registers SYNC_CORE while CPU 1 runs kthread k lazily on mm 1 (k's mm is NULL, so sampling
    /// skips CPU 1). The SYNC_CORE call after a code write: on_each_cpu_mask runs ipi_sync_core on the
    /// caller's CPU too (B6 fix): a barrier and sync_core.
    /// </summary>
    [Fact]
    public void sync_core_skips_a_lazy_kthread_CPU_and_syncs_the_callers_own_core()
    {
        var (log, _, _) = EventLog.Run(With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(20000), Do(StepKind.WriteCode), Mb(MembarrierCmd.PrivateExpeditedSyncCore)),
            User("b", "p", 1, Sleep(15000), Spin(1000)),
            Kthread("k", 1, Spin(30000))));
        Journal.Expect(
        [
            "CpuBooted { Cpu = 0 }",
            "TaskEnqueued { Cpu = 0, Task = 1 }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = -1, Next = 1, PrevState = Runnable, PrevMm = 0 }",
            "FullBarrier { Cpu = 0, Reason = AtomicRmw }",
            "MmSwitchBegan { Cpu = 0, Next = 1, NextTlbGen = 1 }",
            "MmSwitched { Cpu = 0, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "FullBarrier { Cpu = 0, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 0, Reason = Cr3Write }",
            "RqPrevMmCleared { Cpu = 0, Mm = 0 }",
            "FullBarrier { Cpu = 0, Reason = MmdropLazyTlb }",
            "CoreSerialized { Cpu = 0, Reason = Iret }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Iret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "MembarrierEntered { Cpu = 0, Task = 1, Mm = 1, Cmd = 64, Flags = 0, CpuId = -1 }",
            "FullBarrier { Cpu = 0, Reason = LockedAtomic }",
            "MembarrierSampled { Cpu = 0, Targets = {0} }",
            "RqMembarrierStateSet { Cpu = 0, State = 34, Reason = IpiSyncRqState }",
            "FullBarrier { Cpu = 0, Reason = IpiHandler }",
            "IpiHandled { Cpu = 0, Ipi = 0, Kind = SyncRqState, From = 0 }",
            "FullBarrier { Cpu = 0, Reason = LockedAtomic }",
            "MembarrierExited { Cpu = 0, Task = 1, Ret = 0 }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Sysret }",
            "CodeWritten { Cpu = 0, Task = 1, Mm = 1 }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "MembarrierEntered { Cpu = 0, Task = 1, Mm = 1, Cmd = 32, Flags = 0, CpuId = -1 }",
            "FullBarrier { Cpu = 0, Reason = MembarrierEntry }",
            "MembarrierSampled { Cpu = 0, Targets = {0} }",
            "FullBarrier { Cpu = 0, Reason = IpiHandler }",
            "CoreSerialized { Cpu = 0, Reason = IpiSyncCore }",
            "IpiHandled { Cpu = 0, Ipi = 0, Kind = SyncCore, From = 0 }",
            "FullBarrier { Cpu = 0, Reason = MembarrierExit }",
            "MembarrierExited { Cpu = 0, Task = 1, Ret = 0 }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Sysret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = 1, Next = -1, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 0, Mm = 1 }",
        ], log.CpuLines(0));
    }

    /// <summary>
    /// k → b on CPU 1 unlazies into mm 1 without a CR3 write; finish_task_switch's
    /// membarrier_mm_sync_core_before_usermode() runs sync_core (B8 fix) before mmdrop_lazy_tlb's barrier,
    /// so b's SYSRET comes after a core-serializing event. The runqueue copy, 0 from before the
    /// registration (CPU 1 was lazy then), catches up to the mm's state on the way (B21's fix).
    /// </summary>
    [Fact]
    public void the_lazy_CPU_syncs_its_core_in_finish_task_switch_when_it_unlazies_into_the_registered_mm()
    {
        var (log, _, _) = EventLog.Run(With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(20000), Do(StepKind.WriteCode), Mb(MembarrierCmd.PrivateExpeditedSyncCore)),
            User("b", "p", 1, Sleep(15000), Spin(1000)),
            Kthread("k", 1, Spin(30000))));
        Journal.Expect(
        [
            "CpuBooted { Cpu = 1 }",
            "TaskEnqueued { Cpu = 1, Task = 2 }",
            "TaskEnqueued { Cpu = 1, Task = 3 }",
            "FullBarrier { Cpu = 1, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 1, Prev = -2, Next = 2, PrevState = Runnable, PrevMm = 0 }",
            "FullBarrier { Cpu = 1, Reason = AtomicRmw }",
            "MmSwitchBegan { Cpu = 1, Next = 1, NextTlbGen = 1 }",
            "MmSwitched { Cpu = 1, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "FullBarrier { Cpu = 1, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 1, Reason = Cr3Write }",
            "RqPrevMmCleared { Cpu = 1, Mm = 0 }",
            "FullBarrier { Cpu = 1, Reason = MmdropLazyTlb }",
            "CoreSerialized { Cpu = 1, Reason = Iret }",
            "ReturnedToUser { Cpu = 1, Task = 2, Path = Iret }",
            "KernelEntered { Cpu = 1, Task = 2, Reason = Syscall }",
            "FullBarrier { Cpu = 1, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 1, Prev = 2, Next = 3, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 1, Mm = 1 }",
            "TaskEnqueued { Cpu = 1, Task = 2 }",
            "FullBarrier { Cpu = 1, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 1, Prev = 3, Next = 2, PrevState = Sleeping, PrevMm = 1 }",
            "RqMembarrierStateSet { Cpu = 1, State = 50, Reason = SwitchMm }",
            "FullBarrier { Cpu = 1, Reason = UnlazyTlbGen }",
            "MmSwitched { Cpu = 1, Prev = 1, Next = 1, Cr3Written = False, WasLazy = True, TlbGen = 1 }",
            "RqPrevMmCleared { Cpu = 1, Mm = 1 }",
            "CoreSerialized { Cpu = 1, Reason = SyncCore }",
            "FullBarrier { Cpu = 1, Reason = MmdropLazyTlb }",
            "ReturnedToUser { Cpu = 1, Task = 2, Path = Sysret }",
            "KernelEntered { Cpu = 1, Task = 2, Reason = Syscall }",
            "FullBarrier { Cpu = 1, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 1, Prev = 2, Next = -2, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 1, Mm = 1 }",
        ], log.CpuLines(1));
    }

    /// <summary>
    /// a's mprotect bumps tlb_gen to 2: CPU 1 is lazy, so should_flush_tlb() is false and only CPU 0
    /// flushes (partially: exactly one generation behind). munmap frees page tables: tlb_gen 3 goes to
    /// every CPU in mm_cpumask, lazy ones included; the caller waits for the handler.
    /// </summary>
    [Fact]
    public void mprotect_skips_a_lazy_CPU_and_munmap_flushes_it()
    {
        var (log, _, _) = EventLog.Run(With(2,
            User("a", "p", 0, Spin(5000), Do(StepKind.Mprotect), Do(StepKind.Munmap)),
            User("b", "p", 1, Sleep(1000)),
            Kthread("k", 1, Spin(30000))));
        Journal.Expect(
        [
            "CpuBooted { Cpu = 0 }",
            "TaskEnqueued { Cpu = 0, Task = 1 }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = -1, Next = 1, PrevState = Runnable, PrevMm = 0 }",
            "FullBarrier { Cpu = 0, Reason = AtomicRmw }",
            "MmSwitchBegan { Cpu = 0, Next = 1, NextTlbGen = 1 }",
            "MmSwitched { Cpu = 0, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "FullBarrier { Cpu = 0, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 0, Reason = Cr3Write }",
            "RqPrevMmCleared { Cpu = 0, Mm = 0 }",
            "FullBarrier { Cpu = 0, Reason = MmdropLazyTlb }",
            "CoreSerialized { Cpu = 0, Reason = Iret }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Iret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = IncTlbGen }",
            "TlbShootdownStarted { Cpu = 0, Mm = 1, TlbGen = 2, FreedTables = False }",
            "TlbFlushed { Cpu = 0, Mm = 1, TlbGen = 2, Full = False }",
            "IpiHandled { Cpu = 0, Ipi = 0, Kind = FlushTlb, From = 0 }",
            "TlbShootdownFinished { Cpu = 0, Mm = 1, TlbGen = 2 }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Sysret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = IncTlbGen }",
            "TlbShootdownStarted { Cpu = 0, Mm = 1, TlbGen = 3, FreedTables = True }",
            "TlbFlushed { Cpu = 0, Mm = 1, TlbGen = 3, Full = False }",
            "IpiHandled { Cpu = 0, Ipi = 0, Kind = FlushTlb, From = 0 }",
            "TlbShootdownFinished { Cpu = 0, Mm = 1, TlbGen = 3 }",
            "ReturnedToUser { Cpu = 0, Task = 1, Path = Sysret }",
            "KernelEntered { Cpu = 0, Task = 1, Reason = Syscall }",
            "FullBarrier { Cpu = 0, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 0, Prev = 1, Next = -1, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 0, Mm = 1 }",
        ], log.CpuLines(0));
    }

    /// <summary>
    /// The flush IPI finds CPU 1 lazy on mm 1: switch_mm_irqs_off(NULL, &init_mm) (leave_mm).
    /// When b later returns, loaded_mm is init_mm, so the switch to mm 1 goes through the switching
    /// window and writes CR3 at tlb_gen 3.
    /// </summary>
    [Fact]
    public void a_lazy_CPU_hit_by_a_flush_switches_to_init_mm_and_later_takes_the_full_CR3_path()
    {
        var (log, _, _) = EventLog.Run(With(2,
            User("a", "p", 0, Spin(5000), Do(StepKind.Mprotect), Do(StepKind.Munmap)),
            User("b", "p", 1, Sleep(1000)),
            Kthread("k", 1, Spin(30000))));
        Journal.Expect(
        [
            "CpuBooted { Cpu = 1 }",
            "TaskEnqueued { Cpu = 1, Task = 2 }",
            "TaskEnqueued { Cpu = 1, Task = 3 }",
            "FullBarrier { Cpu = 1, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 1, Prev = -2, Next = 2, PrevState = Runnable, PrevMm = 0 }",
            "FullBarrier { Cpu = 1, Reason = AtomicRmw }",
            "MmSwitchBegan { Cpu = 1, Next = 1, NextTlbGen = 1 }",
            "MmSwitched { Cpu = 1, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "FullBarrier { Cpu = 1, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 1, Reason = Cr3Write }",
            "RqPrevMmCleared { Cpu = 1, Mm = 0 }",
            "FullBarrier { Cpu = 1, Reason = MmdropLazyTlb }",
            "CoreSerialized { Cpu = 1, Reason = Iret }",
            "ReturnedToUser { Cpu = 1, Task = 2, Path = Iret }",
            "KernelEntered { Cpu = 1, Task = 2, Reason = Syscall }",
            "FullBarrier { Cpu = 1, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 1, Prev = 2, Next = 3, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 1, Mm = 1 }",
            "TaskEnqueued { Cpu = 1, Task = 2 }",
            "MmSwitchBegan { Cpu = 1, Next = 0, NextTlbGen = 0 }",
            "MmSwitched { Cpu = 1, Prev = 1, Next = 0, Cr3Written = True, WasLazy = True, TlbGen = 0 }",
            "FullBarrier { Cpu = 1, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 1, Reason = Cr3Write }",
            "IpiHandled { Cpu = 1, Ipi = 1000, Kind = FlushTlb, From = 0 }",
            "CoreSerialized { Cpu = 1, Reason = Iret }",
            "FullBarrier { Cpu = 1, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 1, Prev = 3, Next = 2, PrevState = Sleeping, PrevMm = 1 }",
            "FullBarrier { Cpu = 1, Reason = AtomicRmw }",
            "MmSwitchBegan { Cpu = 1, Next = 1, NextTlbGen = 3 }",
            "MmSwitched { Cpu = 1, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 3 }",
            "FullBarrier { Cpu = 1, Reason = Cr3Write }",
            "CoreSerialized { Cpu = 1, Reason = Cr3Write }",
            "RqPrevMmCleared { Cpu = 1, Mm = 1 }",
            "FullBarrier { Cpu = 1, Reason = MmdropLazyTlb }",
            "ReturnedToUser { Cpu = 1, Task = 2, Path = Sysret }",
            "KernelEntered { Cpu = 1, Task = 2, Reason = Syscall }",
            "FullBarrier { Cpu = 1, Reason = SchedSpinlock }",
            "SchedSwitched { Cpu = 1, Prev = 2, Next = -2, PrevState = Sleeping, PrevMm = -1 }",
            "LazyTlbEntered { Cpu = 1, Mm = 1 }",
        ], log.CpuLines(1));
    }
}
