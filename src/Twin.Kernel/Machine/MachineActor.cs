using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;

namespace Twin.Kernel.Machine;

/// <summary>
/// Owns the task table (stream "machine"): task creation (boot, fork), <c>task->mm</c> changes
/// (exec, exit_mm, kthread_use/unuse_mm) and deaths. At boot it creates the workload's tasks and
/// wakes each on its CPU (its affinity, or a random one).
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
        Recover<TaskMmChanged>(Tasks.Apply);
        Recover<TaskExited>(Tasks.Apply);
    }

    public TaskTable Tasks { get; } = new();

    public override string PersistenceId => Stream;

    public override void HashState(ref StateHasher hasher) => Tasks.Hash(ref hasher);

    public void CreateTask(int task, int tgid, int mm, bool kthread) => Persist(new TaskCreated(task, tgid, mm, kthread));

    public void SetTaskMm(int task, int mm, MmChangeReason reason) => Persist(new TaskMmChanged(task, mm, reason));

    public void TaskDied(int task) => Persist(new TaskExited(task));

    protected override void PreStart()
    {
        if (LastSequenceNr > 0) return;
        foreach (int task in _kernel.CreateBootTasks(this))
        {
            _kernel.CpuRefs[_kernel.WakeTargetCpu(task, Context.Random)].Tell(new TaskWakeup(task));
        }
    }
}
