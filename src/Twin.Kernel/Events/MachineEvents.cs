using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// Events of the "machine" stream: the task table. Codes 1–9.

/// <summary>A task was created: a user thread of process <paramref name="Tgid"/> on <paramref
/// name="Mm"/>, or a kernel thread (mm 0).</summary>
[JournaledEvent(1, 1)]
public readonly partial record struct TaskCreated(int Task, int Tgid, int Mm, bool Kthread);

/// <summary><c>task->mm</c> changed: exec, exit_mm, kthread_use_mm, kthread_unuse_mm.</summary>
[JournaledEvent(2, 1)]
public readonly partial record struct TaskMmChanged(int Task, int Mm, MmChangeReason Reason);

/// <summary>The task is dead (do_task_dead).</summary>
[JournaledEvent(3, 1)]
public readonly partial record struct TaskExited(int Task);
