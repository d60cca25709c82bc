using System.Text;
using Twin.Checking.Conformance;
using Twin.Kernel;
using Twin.Kernel.Arch;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Tasks;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Conformance;

/// <summary>
/// Puts the kernel model where a traced membarrier call found the machine and lets it make the
/// call: the caller on its CPU with its process's registrations made first, the other CPUs
/// running what the trace shows (a thread of the caller's process, a task of another process
/// with its registrations, a kernel thread, or idle), the process's other threads parked so
/// mm_users is the trace's. The model's actors decide the IPIs and the return; nothing is copied
/// from the trace but that starting point.
/// </summary>
public static class ModelExperiment
{
    /// <summary>Time the caller spends in user mode before the call: longer than the longest slice, so every other task has settled on its CPU.</summary>
    private const long SettleNs = 5_000_000;
    private const long OthersSpinNs = 40_000_000;

    /// <summary>What the experiment depends on; calls with the same key have the same prediction.</summary>
    public static string KeyOf(RecordedCall c)
    {
        var key = new StringBuilder();
        key.Append(c.Cpus).Append('|').Append(c.Cpu).Append('|').Append(c.Cmd).Append('|').Append(c.Flags).Append('|').Append(c.CpuId)
            .Append('|').Append(c.MmState).Append('|').Append(c.MmUsers > 1 ? 2 : 1);
        bool global = c.Cmd == MembarrierCmd.GlobalExpedited;
        for (int cpu = 0; cpu < c.Cpus; cpu++)
        {
            key.Append('|').Append((int)c.Running[cpu]);
            // Other processes matter by identity (one mm or two) and, for GLOBAL_EXPEDITED, by registration.
            if (c.Running[cpu] == CpuRunning.OtherMm) key.Append(':').Append(OtherIndex(c, cpu)).Append(':').Append(global ? c.RunningMmState[cpu] : 0);
        }
        return key.ToString();
    }

    /// <summary>Runs the model from <paramref name="observed"/>'s starting point; returns the model's own record of the call.</summary>
    public static RecordedCall Predict(RecordedCall observed, ArchProfile arch, ulong seed)
    {
        TwinConfig config = new()
        {
            Seed = seed,
            Events = 5_000_000,
            CheckpointEveryEvents = 0,
            Kernel = new KernelConfig { Cpus = observed.Cpus, Arch = arch, Tasks = TasksFor(observed) },
        };
        RecordedCall? tested = null;
        var recorder = new MembarrierCallRecorder(c =>
        {
            if (c.Task == 1) tested = c; // the caller's last call is the one under test
        });
        SimulationRunner.Run(config, journal: null, $"conform-{seed}", taps: [recorder]);
        recorder.Finish();
        return tested ?? throw new InvalidOperationException("the model's caller never returned from the call under test");
    }

    /// <summary>The scenario's tasks (docs/conform.md): task 1 is the caller.</summary>
    public static List<TaskSpec> TasksFor(RecordedCall c)
    {
        var steps = new List<Step>();
        foreach (int cmd in RegistrationsOf(c.MmState)) steps.Add(new Step(StepKind.Membarrier, Cmd: cmd));
        steps.Add(new Step(StepKind.Spin, Ns: SettleNs));
        steps.Add(new Step(StepKind.Membarrier, Cmd: c.Cmd, Flags: c.Flags, CpuId: c.CpuId));
        var tasks = new List<TaskSpec> { new("caller", "p0", c.Cpu, steps, ForkedBy: false) };
        int threadsRunning = 0;
        bool global = c.Cmd == MembarrierCmd.GlobalExpedited;
        for (int cpu = 0; cpu < c.Cpus; cpu++)
        {
            if (cpu == c.Cpu) continue;
            Step spin = new(StepKind.Spin, Ns: OthersSpinNs);
            switch (c.Running[cpu])
            {
                case CpuRunning.CallerMm:
                    threadsRunning++;
                    tasks.Add(new TaskSpec($"p0.cpu{cpu}", "p0", cpu, [spin], ForkedBy: false));
                    break;
                case CpuRunning.OtherMm:
                    var other = new List<Step>();
                    if (global) foreach (int cmd in RegistrationsOf(c.RunningMmState[cpu])) other.Add(new Step(StepKind.Membarrier, Cmd: cmd));
                    other.Add(spin);
                    tasks.Add(new TaskSpec($"q{OtherIndex(c, cpu)}.cpu{cpu}", $"q{OtherIndex(c, cpu)}", cpu, other, ForkedBy: false));
                    break;
                case CpuRunning.Kthread:
                    tasks.Add(new TaskSpec($"kthread.cpu{cpu}", null, cpu, [spin], ForkedBy: false));
                    break;
            }
        }
        // mm_users == 1 is membarrier's shortcut: a thread that is not running still counts.
        if (c.MmUsers > 1 + threadsRunning) tasks.Add(new TaskSpec("p0.parked", "p0", c.Cpu, [new Step(StepKind.Spin, Ns: 1_000)], ForkedBy: false));
        return tasks;
    }

    /// <summary>The REGISTER commands that leave an mm with <paramref name="state"/>'s READY bits.</summary>
    public static IEnumerable<int> RegistrationsOf(int state)
    {
        if ((state & MembarrierState.PrivateExpeditedReady) != 0) yield return MembarrierCmd.RegisterPrivateExpedited;
        if ((state & MembarrierState.SyncCoreReady) != 0) yield return MembarrierCmd.RegisterPrivateExpeditedSyncCore;
        if ((state & MembarrierState.RseqReady) != 0) yield return MembarrierCmd.RegisterPrivateExpeditedRseq;
        if ((state & MembarrierState.GlobalExpeditedReady) != 0) yield return MembarrierCmd.RegisterGlobalExpedited;
    }

    /// <summary>Other processes numbered by the first CPU that runs one: two CPUs of one process share an mm in the model too.</summary>
    private static int OtherIndex(RecordedCall c, int cpu)
    {
        int index = 0;
        for (int i = 0; i < cpu; i++)
        {
            if (c.Running[i] != CpuRunning.OtherMm) continue;
            if (c.RunningMm[i] == c.RunningMm[cpu]) return index;
            bool firstOfItsMm = true;
            for (int j = 0; j < i; j++) firstOfItsMm &= !(c.Running[j] == CpuRunning.OtherMm && c.RunningMm[j] == c.RunningMm[i]);
            if (firstOfItsMm) index++;
        }
        return index;
    }
}
