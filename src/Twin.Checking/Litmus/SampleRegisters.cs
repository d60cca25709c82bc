using Twin.Actors.Persistence;
using Twin.Kernel.Events;

namespace Twin.Checking.Litmus;

/// <summary>
/// Fills the registers of <c>sampled_into</c> membarrier steps: the mask of CPUs the call's sample
/// (b) chose to interrupt, read from its <see cref="MembarrierSampled"/> event. Scenarios C–E are
/// about that read of rq->curr->mm, so their forbidden outcomes name it. Only observes.
/// </summary>
public sealed class SampleRegisters(IReadOnlyList<(int Task, int Call, int Reg)> wanted) : EventTap
{
    private readonly Dictionary<int, int> _calls = [];
    private readonly Dictionary<int, int> _regOnCpu = [];

    /// <summary>Register id → value, for the calls that sampled.</summary>
    public Dictionary<int, long> Values { get; } = [];

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (KernelView.Is(in evt, out MembarrierEntered me))
        {
            int call = _calls[me.Task] = _calls.GetValueOrDefault(me.Task) + 1;
            _regOnCpu.Remove(me.Cpu);
            foreach ((int task, int n, int reg) in wanted)
            {
                if (task == me.Task && n == call) _regOnCpu[me.Cpu] = reg;
            }
        }
        else if (KernelView.Is(in evt, out MembarrierSampled ms) && _regOnCpu.Remove(ms.Cpu, out int reg))
        {
            // Litmus scenarios have at most 64 CPUs worth naming; the first word is the mask.
            Values[reg] = (long)ms.Targets.W0;
        }
    }
}
