using Twin.Kernel.Arch;
using Twin.Kernel.Tasks;

namespace Twin.Kernel;

/// <summary>The simulated machine and its workload. Validated by the simulation layer before use.</summary>
public sealed record KernelConfig
{
    /// <summary>Simulated CPUs (1–256).</summary>
    public int Cpus { get; init; } = 4;

    public ArchProfile Arch { get; init; } = ArchProfile.X86_64;

    /// <summary>
    /// x86 X86_FEATURE_LAM (config <c>kernel.lam</c>): arch_prctl can enable LAM, CLONE_VM thread
    /// creation sets MM_CONTEXT_LOCK_LAM, switch_mm loads LAM bits. Off: ENODEV, and no LAM state.
    /// </summary>
    public bool Lam { get; init; }

    /// <summary>x86 text_poke_bp is modelled (config <c>textPoke</c>, kernel-model §7.2); null: off, no text events.</summary>
    public TextPokeConfig? TextPoke { get; init; }

    /// <summary>Isolated (nohz_full) CPUs and whether text_poke's syncs to them are deferred (config <c>isolation</c>, kernel-model §7.3); null: none.</summary>
    public IsolationConfig? Isolation { get; init; }

    /// <summary>nohz_full is enabled: QUERY leaves out GLOBAL, and GLOBAL fails with EINVAL.</summary>
    public bool NohzFull { get; init; }

    /// <summary>Historical bugs switched back on (see <see cref="BugSet"/>).</summary>
    public BugSet Bugs { get; init; }

    public TimingConfig Timing { get; init; } = new();

    public WorkloadConfig Workload { get; init; } = new();

    /// <summary>Tasks of a scenario file; when set, they replace the random workload.</summary>
    public IReadOnlyList<TaskSpec>? Tasks { get; init; }

    /// <summary>Barrier and core-serializing sites left out of the model (config <c>omit</c>, <c>twin mutate</c>); see <see cref="Sites.SiteCatalog"/>.</summary>
    public Sites.SiteSet Omit { get; init; }

    /// <summary>
    /// Litmus option (0: off): stores of rq->curr and current->mm become visible to another CPU's
    /// membarrier sample only this long after they are made (on weakly ordered architectures, a
    /// random part of it), or at the storing CPU's next full barrier. rq->membarrier_state goes through it too. See <see cref="Cpu.BufferedWord"/>.
    /// </summary>
    public long CurrStoreBufferNs { get; init; }

    /// <summary>The run's fault plan (see docs/faults.md); empty: no fault injection.</summary>
    public IReadOnlyList<Faults.FaultRule> Faults { get; init; } = [];

    public bool Has(BugSet bug) => (Bugs & bug) != 0;
}

/// <summary>Patchable kernel text, its patching and its executors (config key <c>textPoke</c>, docs/textpoke.md).</summary>
public sealed record TextPokeConfig
{
    /// <summary>Patchable five-byte sites (static calls, static keys); a batch patches a set of them.</summary>
    public int Sites { get; init; } = 4;

    /// <summary>Mean gap between NMIs on each CPU (perf, watchdog), whose handler runs a patchable site; 0: none.</summary>
    public long NmiEveryNs { get; init; } = 100_000;

    /// <summary>A batch must finish within this virtual time (the liveness check, like the kernel's CSD-lock and soft-lockup watchdogs).</summary>
    public long LivenessNs { get; init; } = 10_000_000;
}

/// <summary>Task isolation (config key <c>isolation</c>, docs/isolation.md).</summary>
/// <param name="Cpus">The isolated (nohz_full) CPUs.</param>
/// <param name="Defer">
/// Valentin Schneider's proposed series: a text_poke sync to an isolated CPU that is outside the
/// kernel sets its CT_WORK_SYNC bit instead of interrupting it; the CPU syncs at its next kernel
/// entry. False: mainline, which interrupts every CPU.
/// </param>
public sealed record IsolationConfig(CpuMask Cpus, bool Defer);

/// <summary>A task declared by a scenario.</summary>
/// <param name="Process">Name of its process (threads of one process share an mm), or null for a kernel thread.</param>
/// <param name="Affinity">CPU it is pinned to, or -1.</param>
/// <param name="ForkedBy">True when a <c>fork</c> step of another task starts it, as a new process.</param>
public sealed record TaskSpec(string Name, string? Process, int Affinity, IReadOnlyList<Step> Steps, bool ForkedBy);

/// <summary>How long kernel work takes, in virtual ns (config key <c>kernel</c>).</summary>
public sealed record TimingConfig
{
    /// <summary>A task runs this long before the tick sets need_resched.</summary>
    public long SliceNsMin { get; init; } = 200_000;

    public long SliceNsMax { get; init; } = 2_000_000;

    /// <summary>Each step of kernel code (one interleaving point to the next).</summary>
    public long StepNsMin { get; init; } = 50;

    public long StepNsMax { get; init; } = 500;

    /// <summary>
    /// Probability that a phase of kernel code stalls (an NMI, a cache miss storm, a preempted vCPU)
    /// for up to <see cref="StallNsMax"/>: the delays that stretch race windows on real machines, and
    /// the twin's way of exploring schedules in which they are long (delay bounding, as in Coyote).
    /// </summary>
    public double StallProbability { get; init; } = 0.02;

    public long StallNsMax { get; init; } = 20_000;

    /// <summary>
    /// Above 0, the window-biased timing strategy (<see cref="StepTiming"/>): a step inside a window
    /// a checker names stalls with this probability instead of <see cref="StallProbability"/>.
    /// </summary>
    public double WindowStallProbability { get; init; }

    /// <summary>IPI latency from send to the handler running on the target.</summary>
    public long IpiNsMin { get; init; } = 300;

    public long IpiNsMax { get; init; } = 3_000;

    /// <summary>How often synchronize_rcu() checks whether every CPU passed a quiescent state.</summary>
    public long RcuPollNs { get; init; } = 20_000;

    /// <summary>Probability that an interrupt's exit path to user mode reschedules (need_resched set).</summary>
    public double ReschedOnIrqExit { get; init; } = 0.2;

    /// <summary>x86: probability that a syscall returns by IRET (RCX≠RIP, R11≠RFLAGS, ...) instead of SYSRET.</summary>
    public double IretOnSyscallReturn { get; init; } = 0.02;
}

/// <summary>Knobs of the randomized workload (config key <c>workload</c>).</summary>
public sealed record WorkloadConfig
{
    /// <summary>User processes at boot; each has its own mm.</summary>
    public int Processes { get; init; } = 3;

    /// <summary>Threads per process (CLONE_VM threads share the process's mm).</summary>
    public int ThreadsPerProcess { get; init; } = 3;

    /// <summary>Kernel threads (no mm; they borrow <c>active_mm</c> lazily and may kthread_use_mm).</summary>
    public int Kthreads { get; init; } = 2;

    /// <summary>Most tasks alive at once; forks beyond it are not drawn.</summary>
    public int MaxTasks { get; init; } = 64;

    /// <summary>A spin (user work, or kthread kernel work) lasts a uniform time in [min, max] ns.</summary>
    public long SpinNsMin { get; init; } = 2_000;

    public long SpinNsMax { get; init; } = 200_000;

    /// <summary>A sleep lasts a uniform time in [min, max] ns.</summary>
    public long SleepNsMin { get; init; } = 10_000;

    public long SleepNsMax { get; init; } = 1_000_000;

    /// <summary>Probability that a process registers each membarrier kind when its first thread starts.</summary>
    public double RegisterProbability { get; init; } = 0.6;

    /// <summary>Relative weights of the next step a task draws.</summary>
    public StepWeights Weights { get; init; } = new();
}

/// <summary>Relative weights of step kinds in the random workload; 0 turns a kind off.</summary>
public sealed record StepWeights
{
    public int Spin { get; init; } = 40;
    public int Sleep { get; init; } = 12;
    public int Yield { get; init; } = 4;
    public int Membarrier { get; init; } = 14;
    public int Mprotect { get; init; } = 5;
    public int Munmap { get; init; } = 3;
    public int WriteCode { get; init; } = 3;
    public int Rseq { get; init; } = 6;
    public int Fork { get; init; } = 1;
    public int Exec { get; init; } = 1;
    public int Exit { get; init; } = 1;
    /// <summary>Kernel threads: kthread_use_mm / kthread_unuse_mm.</summary>
    public int UseMm { get; init; } = 8;
    /// <summary>x86 LAM arch_prctl calls (mostly ARCH_ENABLE_TAGGED_ADDR); 0 by default.</summary>
    public int Lam { get; init; }
    /// <summary>Static-key toggles (a sysctl write): a text_poke_bp batch of one to three sites; 0 by default.</summary>
    public int TextPoke { get; init; }
    /// <summary>A user load or store of a shared or per-process variable (<see cref="MemoryVars"/>); 0 by default, <see cref="WeakMemoryAccess"/> in the weak-memory mode.</summary>
    public int Access { get; init; }

    /// <summary>The access weight the weak-memory mode (<c>memory.weak</c>) uses unless one is set.</summary>
    public const int WeakMemoryAccess = 30;
}
