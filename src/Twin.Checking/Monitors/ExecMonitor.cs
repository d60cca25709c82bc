using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;

namespace Twin.Checking.Monitors;

/// <summary>
/// P-EXEC (kernel-model §3.5): exec installs an mm whose membarrier state is 0, after a full
/// barrier on the CPU since the exec syscall began, with the runqueue copy cleared too.
/// </summary>
public sealed class ExecMonitor : Monitor
{
    private readonly long[] _entered = new long[Limits.MaxCpus];

    public override string Property => "P-EXEC";

    public override string Guarantee =>
        "membarrier_exec_mmap(): \"smp_mb() ... to guarantee that no memory access prior to exec is reordered after clearing this state\"; " +
        "membarrier_state and the runqueue's copy are 0 after exec";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out KernelEntered ke))
        {
            _entered[ke.Cpu] = meta.EventIndex;
        }
        else if (Is(in evt, out TaskMmChanged tm) && tm.Reason == MmChangeReason.Exec)
        {
            int cpu = View.CpuRunning(tm.Task);
            if (cpu < 0) return;
            if (View.LastBarrierOf(cpu, BarrierPairings.BeforeExecMmap) < _entered[cpu])
            {
                Report(in meta, cpu, tm.Mm, $"exec on CPU {cpu} installs mm {tm.Mm} with no {BarrierPairings.Describe(BarrierPairings.BeforeExecMmap)} since the syscall began at event {_entered[cpu]}",
                    task: tm.Task, windowStart: _entered[cpu]);
            }
            if (View.MmState(tm.Mm) != 0 || View.RqState[cpu] != 0)
            {
                Report(in meta, cpu, tm.Mm,
                    $"exec installs mm {tm.Mm} with membarrier_state {View.MmState(tm.Mm):x} and rq->membarrier_state {View.RqState[cpu]:x} (both must be 0)",
                    task: tm.Task, windowStart: _entered[cpu]);
            }
        }
    }
}
