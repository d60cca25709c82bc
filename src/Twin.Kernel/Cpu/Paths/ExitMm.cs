using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Machine;
using Twin.Kernel.Mm;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Sites;

namespace Twin.Kernel.Cpu;

// kernel/exit.c: do_exit() with exit_mm() (kernel-model §2.5), then do_task_dead()
// (kernel/sched/core.c); membarrier_update_current_mm() (kernel/sched/membarrier.c).
public sealed partial class CpuActor
{
    /// <summary>
    /// do_exit(): exit_mm(), the rest of do_exit() (files, signals, exit_notify) as one kernel step,
    /// then do_task_dead(): the task never runs again.
    /// </summary>
    private async KernelPath DoExit()
    {
        await ExitMm();
        await KernelStep();
        await Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.TaskDied, Curr));
        Current.Exited = true;
        await Schedule(PrevState.Sleeping);
    }

    /// <summary>
    /// exit_mm(): <c>mmgrab_lazy_tlb(); task_lock(); smp_mb__after_spinlock();</c> (scenario D; B2
    /// drops it), then with interrupts off <c>current->mm = NULL</c>,
    /// membarrier_update_current_mm(NULL) (B2 drops it too), enter_lazy_tlb(); then mmput().
    /// </summary>
    private async KernelPath ExitMm()
    {
        if (!Kernel.Config.Has(BugSet.B2)) Barrier(OrderingSite.ExitMm);
        await KernelStep();
        int mm = CurrentMm;
        IrqsOff();
        await Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.SetTaskMm, Curr, KernelIds.None, MmChangeReason.ExitMm));
        CurrMmStored(KernelIds.None);
        if (!Kernel.Config.Has(BugSet.B2)) await MembarrierUpdateCurrentMm(KernelIds.None);
        Raise(new LazyTlbEntered(Id, mm));
        IrqsOn();
        await Store(MmRef(mm), new MmWrite(NextToken(), MmOp.UsersChanged, Value: -1));
    }

    /// <summary>membarrier_update_current_mm(): the runqueue's copy follows current->mm (a store when it changes).</summary>
    private async KernelPath MembarrierUpdateCurrentMm(int mm)
    {
        int state = mm == KernelIds.None ? 0 : Mm(mm).MembarrierState;
        if (Rq.MembarrierState == state) return;
        await Store(RqRef, new RqSetMembarrierState(NextToken(), state, RqStateReason.UpdateCurrentMm));
    }
}
