using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;

namespace Twin.Kernel.Machine;

/// <summary>
/// Owns the task table (stream "machine"). At boot it creates the workload's processes, threads
/// and kernel threads and wakes each on a random CPU.
/// </summary>
public sealed class MachineActor : PersistentActor
{
    public const string Stream = "machine";

    private readonly Kernel _kernel;

    public MachineActor(Kernel kernel)
    {
        _kernel = kernel;
        kernel.Machine = this;
        Recover<TaskCreated>(Tasks.Apply);
    }

    public TaskTable Tasks { get; } = new();

    public override string PersistenceId => Stream;

    public override void HashState(ref StateHasher hasher) => Tasks.Hash(ref hasher);

    protected override void PreStart()
    {
        if (LastSequenceNr > 0) return;
        KernelConfig config = _kernel.Config;
        WorkloadConfig w = config.Workload;
        for (int p = 0; p < w.Processes; p++)
        {
            int tgid = config.UserTaskId(p, 0);
            for (int t = 0; t < w.ThreadsPerProcess; t++)
            {
                Persist(new TaskCreated(config.UserTaskId(p, t), tgid, KernelConfig.MmOf(p), Kthread: false));
            }
        }
        for (int k = 0; k < w.Kthreads; k++)
        {
            int task = config.KthreadTaskId(k);
            Persist(new TaskCreated(task, task, KernelIds.None, Kthread: true));
        }
        for (int task = 1; task <= Tasks.Count; task++)
        {
            _kernel.CpuRefs[Context.Random.NextInt(config.Cpus)].Tell(new TaskWakeup(task));
        }
    }
}
