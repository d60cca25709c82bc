namespace Twin.Kernel;

/// <summary>The simulated machine and its workload. Validated by the simulation layer before use.</summary>
public sealed record KernelConfig
{
    /// <summary>Simulated CPUs (2–256).</summary>
    public int Cpus { get; init; } = 4;

    public WorkloadConfig Workload { get; init; } = new();

    /// <summary>Task id of thread <paramref name="thread"/> of process <paramref name="process"/> (both from 0).</summary>
    public int UserTaskId(int process, int thread) => 1 + process * Workload.ThreadsPerProcess + thread;

    /// <summary>mm of process <paramref name="process"/>; 0 is init_mm.</summary>
    public static int MmOf(int process) => process + 1;

    public int KthreadTaskId(int k) => 1 + Workload.Processes * Workload.ThreadsPerProcess + k;

    public int TaskCount => Workload.Processes * Workload.ThreadsPerProcess + Workload.Kthreads;
}

/// <summary>Knobs of the randomized workload (config key <c>workload</c>).</summary>
public sealed record WorkloadConfig
{
    /// <summary>User processes; each has its own mm.</summary>
    public int Processes { get; init; } = 3;

    /// <summary>Threads per process (CLONE_VM threads share the process's mm).</summary>
    public int ThreadsPerProcess { get; init; } = 3;

    /// <summary>Kernel threads (no mm; they borrow <c>active_mm</c> lazily).</summary>
    public int Kthreads { get; init; } = 2;

    /// <summary>A task runs for a uniform time in [min, max] ns before its CPU schedules again.</summary>
    public long RunNsMin { get; init; } = 20_000;

    public long RunNsMax { get; init; } = 2_000_000;

    /// <summary>A task that blocks sleeps for a uniform time in [min, max] ns, then wakes on a random CPU.</summary>
    public long SleepNsMin { get; init; } = 10_000;

    public long SleepNsMax { get; init; } = 1_000_000;

    /// <summary>Probability that a task blocks at the end of its slice rather than staying runnable.</summary>
    public double SleepProbability { get; init; } = 0.4;
}
