namespace Twin.Kernel.Tasks;

/// <summary>How a switched-out task continues when it runs again.</summary>
public enum ResumeKind : byte
{
    /// <summary>A new task: <c>ret_from_fork</c> returns to user by IRET (x86), then its program starts.</summary>
    StartNew,
    /// <summary>It blocked or was preempted in a syscall: the syscall exit path returns to user (SYSRET on x86).</summary>
    ReturnFromSyscall,
    /// <summary>An interrupt preempted it in user mode: it returns by IRET and finishes its user work.</summary>
    ReturnFromInterrupt,
    /// <summary>A kernel thread: continue its program.</summary>
    KernelContinue,
}

/// <summary>A task's workload-driver state: its program and where it stands. Not journaled.</summary>
public sealed class TaskRuntime(int task, string name, TaskProgram program, int affinity)
{
    public int Task { get; } = task;

    public string Name { get; } = name;

    public TaskProgram Program { get; set; } = program;

    /// <summary>CPU the task is pinned to, or -1.</summary>
    public int Affinity { get; } = affinity;

    public ResumeKind Resume { get; set; } = ResumeKind.StartNew;

    /// <summary>User (or kthread) work left when an interrupt preempted it.</summary>
    public long RemainingNs { get; set; }

    /// <summary>Inside an rseq critical section that has not been aborted.</summary>
    public bool InRseqCs { get; set; }

    /// <summary>The step being worked on when preempted (Spin or Rseq), so the remainder continues it.</summary>
    public Step Current { get; set; }

    /// <summary>The program ran out: the task sleeps for good.</summary>
    public bool Parked { get; set; }

    public bool Exited { get; set; }
}

/// <summary>One membarrier call as the <c>--scenario --json</c> output lists it.</summary>
/// <param name="Kind">The syscall: membarrier (Cmd, Flags, CpuId) or arch_prctl (Cmd = option, Flags = argument).</param>
public sealed record SyscallRecord(string Task, int StepIndex, int Cmd, int Flags, int CpuId, StepKind Kind = StepKind.Membarrier)
{
    public long Ret { get; set; }

    public bool Returned { get; set; }
}
