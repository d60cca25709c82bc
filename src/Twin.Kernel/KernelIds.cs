namespace Twin.Kernel;

/// <summary>
/// Identifier conventions. Tasks and mms are small integers so events stay a few bytes.
/// <list type="bullet">
/// <item>mm 0 is <c>init_mm</c>, the kernel's own address space (what a CPU loads on <c>leave_mm</c>).</item>
/// <item>The idle task of CPU c (<c>swapper/c</c>, pid 0 in the kernel) has task id <c>-1 - c</c>.</item>
/// <item>Other tasks count up from 1; a process's tgid is the id of its first thread.</item>
/// </list>
/// </summary>
public static class KernelIds
{
    public const int InitMm = 0;

    /// <summary>No task / no mm, where a field is empty (e.g. a kthread's <c>mm</c>).</summary>
    public const int None = 0;

    /// <summary><c>rq->prev_mm</c> is empty (0 would be init_mm, which a kernel → user switch does drop).</summary>
    public const int NoPrevMm = -1;

    public static int IdleTask(int cpu) => -1 - cpu;

    public static bool IsIdle(int task) => task < 0;

    public static int CpuOfIdle(int task) => -1 - task;

    public static string TaskName(int task) => IsIdle(task) ? $"swapper/{CpuOfIdle(task)}" : $"task-{task}";
}

/// <summary>Why the previous task left the CPU (sched_switch's prev_state, reduced to what the twin models).</summary>
public enum PrevState : byte
{
    /// <summary>R: preempted or yielded; stays runnable on this runqueue.</summary>
    Runnable = 0,
    /// <summary>S: blocked; wakes up later, possibly on another CPU.</summary>
    Sleeping = 1,
}
