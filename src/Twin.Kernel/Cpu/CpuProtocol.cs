namespace Twin.Kernel.Cpu;

// Messages a CPU actor handles. Unmanaged record structs: they travel inline, without allocation.

/// <summary>The tick: the running task's slice is over, need_resched.</summary>
public readonly record struct SchedTick;

/// <summary><c>try_to_wake_up()</c> chose this CPU for the task: enqueue it, and run it now if the CPU idles.</summary>
public readonly record struct TaskWakeup(int Task);

/// <summary>The CPU's next step of kernel or user work is due; stale tokens are ignored.</summary>
public readonly record struct Continue(long Token);

/// <summary>An IPI's interrupt reached this CPU; its csd is in <paramref name="Slot"/>.</summary>
public readonly record struct IpiArrived(int Slot);

/// <summary>An interrupt with nothing to do: the second arrival of a duplicated IPI, or one of an interrupt storm (fault injection).</summary>
public readonly record struct SpuriousIrq(bool Storm);

/// <summary>A non-maskable interrupt: taken whatever the CPU does, interrupts off or not; its handler runs patchable text.</summary>
public readonly record struct NmiArrived(bool Storm);

/// <summary>The next step of the exception handler (INT3, NMI) the CPU is in; stale tokens are ignored.</summary>
public readonly record struct ExceptionStep(long Token);

/// <summary>A handler of an IPI this CPU sent with wait=1 finished (csd unlocked).</summary>
public readonly record struct IpiAcked(long Token);

/// <summary>The next piece of work a CPU does when its <see cref="Continue"/> arrives.</summary>
internal enum CpuPhase : byte
{
    Idle,
    UserSpin,
    UserNext,
    KernelSpin,
    KernelNext,
    SyscallDispatch,
    SyscallExit,
    SchedMm,
    SchedMmLoad,
    MbBarrierA,
    MbIpis,
    MbWait,
    MbBarrierC,
    RcuWait,
    GlobalDone,
    RegIpis,
    RegWait,
    RegReady,
    FlushWait,
    ExitMmClear,
    LamWait,
    LamLock,
    DoTaskDead,
    UseMmLoad,
    UnuseMmClear,
    ExecLoad,
    TextMutexWait,
    PokeInt3,
    PokeTail,
    PokeFirst,
    PokeFinish,
    PokeSyncWait,
    PokeRefsWait,
    PokeNrEntries,
    PokeEnd,
    Parked,
}
