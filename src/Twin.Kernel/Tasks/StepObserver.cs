namespace Twin.Kernel.Tasks;

/// <summary>
/// Sees every step a task's program hands out and every fork, so a run can be written down as a
/// scenario (the shrinker). Observing changes nothing: the run is the same with or without it.
/// </summary>
public interface IStepObserver
{
    void OnStep(KernelModel kernel, TaskRuntime task, int cpu, in Step step);

    /// <summary>A task of the random workload was created at boot (scenario tasks are known already).</summary>
    void OnBoot(int task, int tgid, bool kthread) { }

    void OnFork(int parent, int child);
}

/// <summary>Wraps a program so its steps reach an observer.</summary>
internal sealed class ObservedProgram(TaskProgram inner, IStepObserver observer, KernelModel kernel) : TaskProgram
{
    public override bool TryNext(TaskRuntime task, KernelModel k, Actors.DeterministicRandom random, out Step step)
    {
        if (!inner.TryNext(task, k, random, out step)) return false;
        observer.OnStep(kernel, task, CpuOf(task.Task), in step);
        return true;
    }

    private int CpuOf(int task)
    {
        foreach (Runqueue.RunqueueActor rq in kernel.Rqs)
        {
            if (rq.State.Curr == task) return rq.Cpu;
        }
        return -1;
    }
}
