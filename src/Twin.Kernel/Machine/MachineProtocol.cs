using Twin.Actors.Runtime;
using Twin.Kernel.Events;

namespace Twin.Kernel.Machine;

/// <summary>What a CPU asks of the machine's task table and pid space.</summary>
public enum MachineOpKind : byte
{
    /// <summary>fork() of a new process by <c>Task</c>: a new pid (or the scenario's <c>Arg</c>), dup_mm(), the child task. Replies the child's id.</summary>
    Fork,
    /// <summary>clone(CLONE_VM | CLONE_THREAD) by <c>Task</c>: task <c>Arg</c> (reserved by the scenario) joins its process.</summary>
    Clone,
    /// <summary>exec's mm_alloc() for process <c>Arg</c>: replies the new mm's id.</summary>
    NewMm,
    /// <summary><c>task->mm = Arg</c> (exec, exit_mm, kthread_use/unuse_mm).</summary>
    SetTaskMm,
    /// <summary>do_task_dead(): the task never runs again.</summary>
    TaskDied,
    /// <summary>mutex_trylock(&amp;membarrier_ipi_mutex) by CPU <c>Arg</c>: replies 1 if taken.</summary>
    TryLockIpiMutex,
    /// <summary>mutex_unlock(&amp;membarrier_ipi_mutex) by CPU <c>Arg</c>.</summary>
    UnlockIpiMutex,
}

/// <summary>A request to the machine; the sender stalls until <see cref="Done"/> (token 0: posted).</summary>
public readonly record struct MachineOp(long Token, MachineOpKind Kind, int Task, int Arg = 0, MmChangeReason Reason = default) : ISimulationMessage;

// The machine's own next steps after creating mms (boot, fork): their actors have started and
// journaled what they start with, so the tasks that use them are created now, after them.

/// <summary>Boot's tasks, planned at start with their mms, are created and woken.</summary>
internal readonly record struct CreateBootTasks : ISimulationMessage;

/// <summary>A fork's child task is created and its parent's CPU answered (<paramref name="Token"/>) with its id.</summary>
internal readonly record struct CreateForkedTask(long Token, int Parent, TaskCreated Child) : ISimulationMessage;
