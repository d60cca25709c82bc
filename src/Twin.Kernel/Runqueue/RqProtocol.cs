using Twin.Actors.Runtime;
using Twin.Kernel.Events;

namespace Twin.Kernel.Runqueue;

// Messages a runqueue handles. Remote CPUs only wake tasks onto it; everything else comes from
// its own CPU, whose __schedule(), membarrier code and IPI handlers store into it.

/// <summary><c>try_to_wake_up()</c> chose this runqueue for the task: enqueue it.</summary>
public readonly record struct TaskWakeup(int Task) : ISimulationMessage;

/// <summary>rq_lock() by this runqueue's CPU in __schedule(): granted at once (remote wakeups wait until the unlock).</summary>
public readonly record struct RqLock(long Token) : ISimulationMessage;

/// <summary>
/// __schedule() on this runqueue's CPU picked <paramref name="Next"/>: store <c>rq->curr</c> (the
/// sched_switch point), requeue a runnable prev, record <c>rq->prev_mm</c> and, with
/// <paramref name="CopyMembarrierState"/>, membarrier_switch_mm()'s copy of next's mm state, in
/// one step: the rq lock is held across all of it.
/// </summary>
public readonly record struct RqSwitch(long Token, int Prev, int Next, PrevState PrevState, int PrevMm, bool CopyMembarrierState) : ISimulationMessage;

/// <summary>A store to <c>rq->membarrier_state</c> by this runqueue's CPU, which waits for the answer.</summary>
public readonly record struct RqSetMembarrierState(long Token, int State, RqStateReason Reason) : ISimulationMessage;

/// <summary>
/// finish_task_switch(): takes <c>rq->prev_mm</c> (<paramref name="PrevMm"/>, or <see cref="KernelIds.NoPrevMm"/>)
/// and sets it to NULL, then finish_lock_switch() releases the rq lock. With a token the CPU waits
/// for the answer; token 0 is a posted unlock (nothing to take).
/// </summary>
public readonly record struct RqFinishSwitch(long Token, int PrevMm) : ISimulationMessage;

/// <summary>The CPU left cpu_online_mask: migrate_tasks() moves every queued task to an online CPU.</summary>
public readonly record struct RqMigrateTasks : ISimulationMessage;

/// <summary>Tells a runqueue's CPU that a task was queued (resched of an idle CPU).</summary>
public readonly record struct RqWoken : ISimulationMessage;
