using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// Events of "cpu-N" streams: runqueue, x86 cpu_tlbstate, mode, barriers, membarrier calls. Codes 10–29, 50–59.

/// <summary>The CPU came online running its idle task, with <c>init_mm</c> loaded.</summary>
[JournaledEvent(10, 1)]
public readonly partial record struct CpuBooted(int Cpu);

/// <summary>A woken or new task was put on this CPU's runqueue (<c>activate_task</c>).</summary>
[JournaledEvent(11, 1)]
public readonly partial record struct TaskEnqueued(int Cpu, int Task);

/// <summary><c>__schedule()</c> stored <c>rq->curr = next</c> (the sched_switch tracepoint). <paramref
/// name="PrevMm"/> is the mm that becomes <c>rq->prev_mm</c> (kernel → user: the mm the outgoing
/// kthread borrowed), or 0.</summary>
[JournaledEvent(12, 2)]
public readonly partial record struct SchedSwitched(int Cpu, int Prev, int Next, PrevState PrevState, int PrevMm);

/// <summary><c>enter_lazy_tlb(active_mm)</c>: a kernel thread borrows <paramref name="Mm"/>;
/// <c>is_lazy</c> is set unless <c>init_mm</c> is loaded (kernel-model §2.1, §2.3).</summary>
[JournaledEvent(13, 1)]
public readonly partial record struct LazyTlbEntered(int Cpu, int Mm);

/// <summary>End of <c>switch_mm_irqs_off(prev, next)</c>: <c>loaded_mm = next</c>, the CPU caught up to
/// <paramref name="TlbGen"/>. <paramref name="Cr3Written"/> is false on the same-mm unlazy path that
/// returns with tlb_gen current (no CR3 write, so no core serialization from it).</summary>
[JournaledEvent(14, 2)]
public readonly partial record struct MmSwitched(int Cpu, int Prev, int Next, bool Cr3Written, bool WasLazy, long TlbGen);

/// <summary>First half of <c>switch_mm_irqs_off()</c> to another mm: <c>loaded_mm =
/// LOADED_MM_SWITCHING</c>, CPU set in <c>mm_cpumask(next)</c>, <c>next->context.tlb_gen</c> read.
/// Until <see cref="MmSwitched"/>, <c>should_flush_tlb()</c> sees the switching sentinel
/// (B12).</summary>
[JournaledEvent(15, 1)]
public readonly partial record struct MmSwitchBegan(int Cpu, int Next, long NextTlbGen);

/// <summary><c>flush_tlb_func()</c> caught this CPU up to <paramref name="TlbGen"/> of the loaded
/// mm.</summary>
[JournaledEvent(16, 1)]
public readonly partial record struct TlbFlushed(int Cpu, int Mm, long TlbGen, bool Full);

/// <summary>The CPU left user mode for the kernel.</summary>
[JournaledEvent(17, 1)]
public readonly partial record struct KernelEntered(int Cpu, int Task, EntryReason Reason);

/// <summary>The CPU returned to user mode in <paramref name="Task"/>; whether that serializes depends
/// on the path and the architecture (§2.6).</summary>
[JournaledEvent(18, 1)]
public readonly partial record struct ReturnedToUser(int Cpu, int Task, ReturnPath Path);

/// <summary>A full memory barrier executed on the CPU.</summary>
[JournaledEvent(19, 1)]
public readonly partial record struct FullBarrier(int Cpu, BarrierReason Reason);

/// <summary>A core-serializing event on the CPU: instructions fetched later see all earlier stores to
/// code.</summary>
[JournaledEvent(20, 1)]
public readonly partial record struct CoreSerialized(int Cpu, CoreSerializeReason Reason);

/// <summary><c>rq->membarrier_state</c> was written.</summary>
[JournaledEvent(21, 1)]
public readonly partial record struct RqMembarrierStateSet(int Cpu, int State, RqStateReason Reason);

/// <summary>An IPI handler ran on the CPU in hardirq context (<paramref name="Ipi"/> 0: run locally by
/// on_each_cpu_mask / smp_call_function_single).</summary>
[JournaledEvent(22, 1)]
public readonly partial record struct IpiHandled(int Cpu, long Ipi, IpiKind Kind, int From);

/// <summary>A user-mode store to code of <paramref name="Mm"/> (cross-modifying code, before membarrier
/// SYNC_CORE).</summary>
[JournaledEvent(23, 1)]
public readonly partial record struct CodeWritten(int Cpu, int Task, int Mm);

/// <summary>The task's rseq critical section was aborted: by <c>ipi_rseq</c> or by preemption
/// (<c>rseq_preempt</c>).</summary>
[JournaledEvent(24, 1)]
public readonly partial record struct RseqAborted(int Cpu, int Task, bool ByIpi);

/// <summary>The task entered an rseq critical section in user mode.</summary>
[JournaledEvent(25, 1)]
public readonly partial record struct RseqCsEntered(int Cpu, int Task);

/// <summary>The task completed its rseq critical section (the commit store) without abort.</summary>
[JournaledEvent(26, 1)]
public readonly partial record struct RseqCsCommitted(int Cpu, int Task);

/// <summary><c>flush_tlb_mm_range()</c> incremented the mm's tlb_gen to <paramref name="TlbGen"/> and
/// starts flushing.</summary>
[JournaledEvent(27, 1)]
public readonly partial record struct TlbShootdownStarted(int Cpu, int Mm, long TlbGen, bool FreedTables);

/// <summary><c>flush_tlb_mm_range()</c> returned: every IPI it sent was handled.</summary>
[JournaledEvent(28, 1)]
public readonly partial record struct TlbShootdownFinished(int Cpu, int Mm, long TlbGen);

/// <summary>A task called <c>membarrier(cmd, flags, cpu_id)</c>.</summary>
[JournaledEvent(50, 1)]
public readonly partial record struct MembarrierEntered(int Cpu, int Task, int Mm, int Cmd, int Flags, int CpuId);

/// <summary>membarrier read the CPUs' <c>rq->curr</c> (b) and chose the IPI targets.</summary>
[JournaledEvent(51, 1)]
public readonly partial record struct MembarrierSampled(int Cpu, CpuMask Targets);

/// <summary>membarrier returned <paramref name="Ret"/> (a negative errno on failure).</summary>
[JournaledEvent(52, 1)]
public readonly partial record struct MembarrierExited(int Cpu, int Task, long Ret);

/// <summary>A kernel thread that uses an mm (kthread_use_mm) starts work that accesses it (io_uring-style user accesses).</summary>
[JournaledEvent(29, 1)]
public readonly partial record struct KthreadWorkBegan(int Cpu, int Task, int Mm);

/// <summary>The kernel thread's work on the mm it uses ended.</summary>
[JournaledEvent(53, 1)]
public readonly partial record struct KthreadWorkEnded(int Cpu, int Task, int Mm);

/// <summary>Litmus: a user-mode store of <paramref name="Value"/> to shared variable <paramref name="Var"/>
/// (it enters the CPU's store buffer; Twin.Checking's litmus memory decides when others see it).</summary>
[JournaledEvent(62, 1)]
public readonly partial record struct UserStored(int Cpu, int Task, int Var, long Value);

/// <summary>Litmus: a user-mode load of shared variable <paramref name="Var"/> into register <paramref name="Reg"/>
/// of the task (the value is the litmus memory's to decide).</summary>
[JournaledEvent(63, 1)]
public readonly partial record struct UserLoaded(int Cpu, int Task, int Var, int Reg);
