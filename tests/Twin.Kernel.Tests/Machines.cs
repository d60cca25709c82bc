using Twin.Kernel.Tasks;

namespace Twin.Kernel.Tests;

// Also compiled into Twin.Checking.Tests (linked in its csproj), so both build machines alike.
/// <summary>Builds scenario machines in code with fixed timings, so schedules are exact.</summary>
public static class Machines
{
    /// <summary>Every kernel step 100 ns, every IPI 1 µs, slices long enough never to preempt, no random resched.</summary>
    public static TimingConfig Fixed { get; } = new()
    {
        StepNsMin = 100, StepNsMax = 100, IpiNsMin = 1000, IpiNsMax = 1000, SliceNsMin = 10_000_000_000, SliceNsMax = 10_000_000_000,
        ReschedOnIrqExit = 0, IretOnSyscallReturn = 0, RcuPollNs = 5000, StallProbability = 0,
    };

    public static KernelConfig With(int cpus, params TaskSpec[] tasks) => new() { Cpus = cpus, Timing = Fixed, Tasks = tasks };

    public static TaskSpec User(string name, string process, int cpu, params Step[] steps) => new(name, process, cpu, steps, ForkedBy: false);

    public static TaskSpec Kthread(string name, int cpu, params Step[] steps) => new(name, null, cpu, steps, ForkedBy: false);

    public static Step Spin(long ns) => new(StepKind.Spin, Ns: ns);

    public static Step Sleep(long ns) => new(StepKind.Sleep, Ns: ns);

    public static Step Mb(int cmd, int flags = 0, int cpuId = -1) => new(StepKind.Membarrier, Cmd: cmd, Flags: flags, CpuId: cpuId);

    public static Step Do(StepKind kind, int target = 0) => new(kind, Target: target);
}
