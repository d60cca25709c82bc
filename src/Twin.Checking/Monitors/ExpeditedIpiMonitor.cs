using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Checking.Monitors;

/// <summary>
/// P-PE and P-GE, the IPI side (kernel-model §3.6): for a PRIVATE_EXPEDITED (or _SYNC_CORE, _RSEQ)
/// call, every other CPU whose rq->curr->mm is the caller's mm when membarrier reads it (b) runs a
/// barrier handler between the entry (a) and exit (c) barriers; for GLOBAL_EXPEDITED, every other
/// CPU running a user mm with GLOBAL_EXPEDITED in its runqueue state. The CPUs that must be hit are
/// computed from the checker's own view, not from the call's journaled sample. A CPU whose
/// rq->curr->mm changed since its last full barrier is not required: the sample may read the old
/// value (the store can still be buffered), and the barrier it owes before its next user access
/// (<see cref="SchedulerBarrierMonitor"/>) is what pairs with the entry barrier (scenarios C and E).
/// </summary>
public sealed class ExpeditedIpiMonitor : Monitor
{
    private readonly MembarrierCall[] _calls = new MembarrierCall[Limits.MaxCpus];

    public override string Property => "P-PE";

    public override string Guarantee =>
        "membarrier(2): upon return from the system call, the calling thread has a guarantee that all its running thread siblings " +
        "(for GLOBAL_EXPEDITED: all running threads of registered processes) have passed through a state where all memory accesses " +
        "to user-space addresses match program order between entry to and return from the system call";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out MembarrierEntered me))
        {
            bool expedited = me.Cmd is MembarrierCmd.PrivateExpedited or MembarrierCmd.PrivateExpeditedSyncCore
                or MembarrierCmd.PrivateExpeditedRseq or MembarrierCmd.GlobalExpedited;
            _calls[me.Cpu] = new MembarrierCall { Active = expedited, Task = me.Task, Mm = me.Mm, Cmd = me.Cmd, Flags = me.Flags, CpuId = me.CpuId, Entered = meta.EventIndex };
        }
        else if (Is(in evt, out FullBarrier fb) && fb.Reason == BarrierReason.MembarrierEntry)
        {
            ref MembarrierCall call = ref _calls[fb.Cpu];
            if (call.Active) call.BarrierA = meta.EventIndex;
        }
        else if (Is(in evt, out MembarrierSampled ms))
        {
            ref MembarrierCall call = ref _calls[ms.Cpu];
            if (!call.Active || call.Sampled) return;
            call.Sampled = true;
            call.SampledAt = meta.EventIndex;
            call.Required = Required(ms.Cpu, ref call);
        }
        else if (Is(in evt, out IpiHandled ih) && ih.Kind is IpiKind.Mb or IpiKind.SyncCore or IpiKind.Rseq)
        {
            ref MembarrierCall call = ref _calls[ih.From];
            // The handler's own smp_mb() is what the guarantee needs: an IPI whose barrier was lost
            // does not count, nor does another barrier that ran on the CPU in between.
            if (call.Active && call.Sampled && call.BarrierA > 0 && View.LastBarrierOf(ih.Cpu, BarrierPairings.IpiHandler) > call.BarrierA) call.Handled = call.Handled.With(ih.Cpu);
        }
        else if (Is(in evt, out FullBarrier exit) && exit.Reason == BarrierReason.MembarrierExit)
        {
            ref MembarrierCall call = ref _calls[exit.Cpu];
            if (!call.Active || !call.Sampled) return;
            bool global = call.Cmd == MembarrierCmd.GlobalExpedited;
            for (int c = 0; c < View.Cpus; c++)
            {
                if (!call.Required.Test(c) || call.Handled.Test(c)) continue;
                Report(in meta, c, call.Mm,
                    $"membarrier({MembarrierCmd.Name(call.Cmd)}) from CPU {exit.Cpu} returns, but CPU {c}, running " +
                    $"{(global ? "a registered process" : $"mm {call.Mm}")} when rq->curr was read at event {call.SampledAt}, " +
                    (call.BarrierA == 0
                        ? "has no IPI handler's smp_mb() paired with the caller's entry barrier (a): the call ran none"
                        : $"ran no IPI handler's smp_mb() between the caller's entry barrier (a) at event {call.BarrierA} and its exit barrier (c), the barriers it pairs with"),
                    task: call.Task, windowStart: call.Entered, property: global ? "P-GE" : "P-PE");
            }
            call.Active = false;
        }
        else if (Is(in evt, out MembarrierExited mx))
        {
            ref MembarrierCall call = ref _calls[mx.Cpu];
            if (call.Active && call.Sampled && mx.Ret >= 0)
            {
                // (c) never came: nothing orders the caller's later accesses after the other CPUs' barriers.
                Report(in meta, mx.Cpu, call.Mm,
                    $"membarrier({MembarrierCmd.Name(call.Cmd)}) on CPU {mx.Cpu} returns without its exit barrier (c): " +
                    "the caller's following accesses may be satisfied before the other CPUs' barriers",
                    task: call.Task, windowStart: call.Entered, property: call.Cmd == MembarrierCmd.GlobalExpedited ? "P-GE" : "P-PE");
            }
            call.Active = false;
        }
    }

    private CpuMask Required(int caller, ref MembarrierCall call)
    {
        CpuMask required = CpuMask.Empty;
        if (call.Cmd == MembarrierCmd.GlobalExpedited)
        {
            for (int c = 0; c < View.Cpus; c++)
            {
                if (c != caller && (View.RqState[c] & MembarrierState.GlobalExpedited) != 0 && View.RqStateSettled(c) && View.CurrMm(c) != KernelIds.None && View.CurrMmSettled(c)) required = required.With(c);
            }
            return required;
        }
        bool flagCpu = (call.Flags & MembarrierCmd.FlagCpu) != 0;
        for (int c = 0; c < View.Cpus; c++)
        {
            if (View.CurrMm(c) != call.Mm || !View.CurrMmSettled(c)) continue;
            if (flagCpu ? c == call.CpuId : c != caller) required = required.With(c);
        }
        return required;
    }
}
