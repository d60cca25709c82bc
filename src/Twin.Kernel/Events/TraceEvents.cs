using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// Events only a real trace has: what a line showed that a simulation never needs to say, and where
// the trace does not show what happened. Emitted by Twin.Traces' reconstruction of a trace into
// the model's events, never by the kernel model. Codes 90–99.

/// <summary>Where a trace line was logged, from its irq-info flags (trace_print_lat_fmt's third character).</summary>
public enum ExecContext : byte
{
    /// <summary>The layout has no flags column (trace-cmd report, perf script).</summary>
    Unknown = 0,
    Task = 1,
    Softirq = 2,
    Hardirq = 3,
    Nmi = 4,
}

/// <summary>What a trace does not show.</summary>
public enum UnknownScope : byte
{
    /// <summary>Events of the CPU were lost (<c>CPU:n [LOST m EVENTS]</c>): what it did just before is unknown.</summary>
    Cpu = 1,
    /// <summary>The mm existed before the trace began: its earlier membarrier registrations are unknown.</summary>
    Mm = 2,
    /// <summary>A line of the CPU names another task than its sched_switch lines say, with no switch between:
    /// lines were lost without a marker (on this machine, a task's task-context lines, such as an idle task's
    /// switch-outs, can be missing). What the CPU did in between is unknown, as after a LOST marker.</summary>
    CpuGap = 3,
}

/// <summary>A line of a real trace on <paramref name="Cpu"/>, whose <c>rq->curr</c> was <paramref
/// name="Task"/> (during a switch's tail the line is logged by prev, but rq->curr is already next),
/// in <paramref name="Context"/>, with IRQs off or on as its flags say.</summary>
[JournaledEvent(90, 1)]
public readonly partial record struct ContextSeen(int Cpu, int Task, ExecContext Context, bool IrqsOff);

/// <summary>The trace does not show what happened to <paramref name="Id"/> (a CPU or an mm) before
/// this point: a decision that needs it is undecidable, never a violation.</summary>
[JournaledEvent(91, 1)]
public readonly partial record struct StateUnknown(UnknownScope Scope, int Id);

/// <summary>A real trace's line of <paramref name="Task"/>, the stopper thread of <paramref name="Cpu"/>
/// (comm <c>migration/N</c>: kernel/stop_machine.c's cpu_stopper_thread), which runs
/// migration_cpu_stop() and, on a CPU going offline, stop_machine's dying callbacks; both flush the
/// CPU's queued csds from task context (kernel/sched/core.c, kernel/smp.c smpcfd_dying_cpu()).</summary>
[JournaledEvent(92, 1)]
public readonly partial record struct StopperSeen(int Cpu, int Task);
