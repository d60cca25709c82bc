using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Machine;
using Twin.Kernel.Mm;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// kernel/fork.c: fork() and clone(CLONE_VM | CLONE_THREAD) through kernel_clone(); the new task is
// made runnable by wake_up_new_task() (kernel/sched/core.c).
public sealed partial class CpuActor
{
    /// <summary>fork(): copy_process() with dup_mm() (the machine's: a new mm actor, then the task), then wake_up_new_task().</summary>
    private async KernelPath Fork(Step step)
    {
        int child = (int)await Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.Fork, Curr, step.Target));
        WakeUpNewTask(child);
    }

    /// <summary>
    /// clone(CLONE_VM | CLONE_THREAD): copy_thread() sets MM_CONTEXT_LOCK_LAM (with the LAM feature;
    /// B15 leaves it out), mmget() takes a user, then the new thread joins the process and wakes.
    /// </summary>
    private async KernelPath Clone(Step step)
    {
        if (Kernel.Config.Lam && !Kernel.Config.Has(BugSet.B15))
        {
            await Store(MmRef(CurrentMm), new MmWrite(NextToken(), MmOp.LockLam));
        }
        await Store(MmRef(CurrentMm), new MmWrite(NextToken(), MmOp.UsersChanged, Value: +1));
        await Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.Clone, Curr, step.Target));
        WakeUpNewTask(step.Target);
    }

    /// <summary>wake_up_new_task(): the new task goes on its CPU's runqueue (its affinity, or a random CPU).</summary>
    private void WakeUpNewTask(int task) => Kernel.RqRefs[Kernel.WakeTargetCpu(task, Random)].Tell(new TaskWakeup(task), Self);
}
