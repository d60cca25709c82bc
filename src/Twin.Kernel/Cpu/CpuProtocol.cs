using Twin.Actors.Runtime;

namespace Twin.Kernel.Cpu;

// Messages a CPU actor handles. Record structs: each is boxed once when sent.

/// <summary>The tick: the running task's slice is over, need_resched. Ticks of an older slice are ignored.</summary>
public readonly record struct SchedTick(long Slice) : ISimulationMessage;

/// <summary>The step the task's frame waits for is due (kernel or user work, a poll); stale tokens are ignored.</summary>
public readonly record struct Continue(long Token) : ISimulationMessage;

/// <summary>An IPI's interrupt reached this CPU; its csd is in <paramref name="Slot"/>.</summary>
public readonly record struct IpiArrived(int Slot) : ISimulationMessage;

/// <summary>An interrupt with nothing to do: the second arrival of a duplicated IPI, or one of an interrupt storm (fault injection).</summary>
public readonly record struct SpuriousIrq(bool Storm) : ISimulationMessage;

/// <summary>A non-maskable interrupt: taken whatever the CPU does, interrupts off or not; its handler runs patchable text.</summary>
public readonly record struct NmiArrived(bool Storm) : ISimulationMessage;

/// <summary>The next step of the exception handler (INT3, NMI) the CPU is in; stale tokens are ignored.</summary>
public readonly record struct ExceptionStep(long Token) : ISimulationMessage;

/// <summary>A handler of an IPI this CPU sent with wait=1 finished (csd unlocked).</summary>
public readonly record struct IpiAcked(long Token) : ISimulationMessage;

/// <summary>
/// text_poke's sync to a nohz_full CPU with deferral on: ct_set_cpu_work(cpu, CT_WORK_SYNC), a
/// cmpxchg on that CPU's context-tracking state, which the CPU owns: it sets the bit if it runs
/// outside the kernel, and refuses (the sender IPIs it) if not.
/// </summary>
public readonly record struct CtWorkRequest(int From, long WaitToken) : ISimulationMessage;

/// <summary>The cmpxchg's outcome, to the sender of a <see cref="CtWorkRequest"/>.</summary>
public readonly record struct CtWorkAnswer(long WaitToken, int Cpu, bool Deferred) : ISimulationMessage;

/// <summary>A hotplug request (fault injection): take this CPU offline for <paramref name="DownNs"/>, or bring it back online.</summary>
public readonly record struct CpuHotplug(bool Online, long DownNs) : ISimulationMessage;
