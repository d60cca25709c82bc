namespace Twin.Kernel.Cpu;

// Messages a CPU actor handles. Unmanaged record structs: they travel inline, without allocation.

/// <summary>The running task's slice ended: schedule (the scheduler tick that sets need_resched).</summary>
public readonly record struct SchedTick;

/// <summary><c>try_to_wake_up()</c> chose this CPU for the task: enqueue it, and run it now if the CPU idles.</summary>
public readonly record struct TaskWakeup(int Task);
