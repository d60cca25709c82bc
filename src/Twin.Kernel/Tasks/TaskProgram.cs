using Twin.Actors;

namespace Twin.Kernel.Tasks;

/// <summary>
/// Decides a task's next step. Programs are workload driver state, like the random source: they
/// are not journaled (the kernel's reaction to each step is), and re-execution reproduces them
/// from the seed.
/// </summary>
public abstract class TaskProgram
{
    /// <summary>The next step, or false when the program is over (the task then parks: it sleeps for good).</summary>
    public abstract bool TryNext(TaskRuntime task, KernelModel kernel, DeterministicRandom random, out Step step);
}

/// <summary>The steps of a scenario file, in order.</summary>
public sealed class ScriptedProgram(IReadOnlyList<Step> steps) : TaskProgram
{
    private int _next;

    public IReadOnlyList<Step> Steps { get; } = steps;

    public bool Finished => _next >= Steps.Count;

    public override bool TryNext(TaskRuntime task, KernelModel kernel, DeterministicRandom random, out Step step)
    {
        if (_next >= Steps.Count)
        {
            step = default;
            return false;
        }
        step = Steps[_next++];
        return true;
    }
}
