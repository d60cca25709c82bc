namespace Twin.Kernel.Tasks;

/// <summary>What a task does next (scenario steps of docs/scenarios.md; the random workload draws the same kinds).</summary>
public enum StepKind : byte
{
    /// <summary>Run for <see cref="Step.Ns"/>: in user mode for user tasks, kernel work for kthreads.</summary>
    Spin,
    /// <summary>Block in a syscall (nanosleep) for <see cref="Step.Ns"/>.</summary>
    Sleep,
    /// <summary><c>sched_yield()</c>.</summary>
    Yield,
    /// <summary><c>membarrier(Cmd, Flags, CpuId)</c>.</summary>
    Membarrier,
    /// <summary>A user-mode store to the process's code (cross-modifying code).</summary>
    WriteCode,
    /// <summary><c>mprotect()</c>: a TLB shootdown without freeing page tables.</summary>
    Mprotect,
    /// <summary><c>munmap()</c>: a TLB shootdown that frees page tables (lazy CPUs are flushed too).</summary>
    Munmap,
    /// <summary><c>fork()</c>: starts task <see cref="Step.Target"/> as a new process with a copy of the mm.</summary>
    Fork,
    /// <summary><c>execve()</c>: a fresh mm (single-threaded processes only).</summary>
    Exec,
    /// <summary><c>exit()</c>.</summary>
    Exit,
    /// <summary>Kernel thread: <c>kthread_use_mm()</c> of the mm of process <see cref="Step.Target"/> (by its tgid).</summary>
    UseMm,
    /// <summary>Kernel thread: <c>kthread_unuse_mm()</c>.</summary>
    UnuseMm,
    /// <summary>Run for <see cref="Step.Ns"/> in user mode inside an rseq critical section.</summary>
    Rseq,
    /// <summary>Litmus: a user-mode store of <see cref="Step.Cmd"/> to shared variable <see cref="Step.Target"/>.</summary>
    Store,
    /// <summary>Litmus: a user-mode load of shared variable <see cref="Step.Target"/> into register <see cref="Step.Cmd"/>.</summary>
    Load,
    /// <summary>x86 <c>arch_prctl(Cmd, Target)</c>: ARCH_GET_UNTAG_MASK, ARCH_ENABLE_TAGGED_ADDR (nr_bits), ARCH_GET_MAX_TAG_BITS.</summary>
    ArchPrctl,
    /// <summary><c>clone(CLONE_VM|CLONE_THREAD|...)</c>: starts task <see cref="Step.Target"/> as a new thread of this process.</summary>
    Clone,
    /// <summary>A syscall given a tagged user pointer (madvise, mmap hint, ...): the kernel runs <c>untagged_addr()</c> on it.</summary>
    TaggedSyscall,
    /// <summary>A static key or call flips (a sysctl write, a module's static_call_update): text_poke_bp of the sites in bit mask <see cref="Step.Target"/>.</summary>
    TextPoke,
    /// <summary>Kernel code runs patchable site <see cref="Step.Target"/> (-1: a kprobe'd instruction): a syscall for user tasks, a work item for kthreads.</summary>
    TextExec,
}

/// <summary>One step of a task's program.</summary>
/// <param name="Index">Position in a scenario's step list (-1 for generated steps), for messages.</param>
public readonly record struct Step(StepKind Kind, long Ns = 0, int Cmd = 0, int Flags = 0, int CpuId = -1, int Target = 0, int Index = -1)
{
    public bool IsSyscall => Kind is StepKind.Sleep or StepKind.Yield or StepKind.Membarrier or StepKind.Mprotect
        or StepKind.Munmap or StepKind.Fork or StepKind.Exec or StepKind.Exit or StepKind.ArchPrctl or StepKind.Clone or StepKind.TaggedSyscall
        or StepKind.TextPoke or StepKind.TextExec;
}
