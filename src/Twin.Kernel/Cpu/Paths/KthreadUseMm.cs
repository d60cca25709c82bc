using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Machine;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;
using Twin.Kernel.Sites;

namespace Twin.Kernel.Cpu;

// kernel/kthread.c: kthread_use_mm() and kthread_unuse_mm() (kernel-model §2.5, scenario E).
public sealed partial class CpuActor
{
    /// <summary>
    /// kthread_use_mm(mm), after its owner's mmget_not_zero() (io_uring, vhost: mm_users counts the
    /// kthread): with interrupts off <c>tsk->mm = mm</c>, membarrier_update_current_mm(mm),
    /// switch_mm_irqs_off(active_mm, mm); then mmdrop_lazy_tlb(active_mm)'s barrier (scenario E's
    /// (g)). B3 drops the runqueue update and the barrier.
    /// </summary>
    private async KernelPath KthreadUseMm(int mm)
    {
        await Store(MmRef(mm), new MmWrite(NextToken(), MmOp.UsersChanged, Value: +1));
        IrqsOff();
        await Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.SetTaskMm, Curr, mm, MmChangeReason.KthreadUseMm));
        CurrMmStored(mm);
        if (!Kernel.Config.Has(BugSet.B3)) await MembarrierUpdateCurrentMm(mm);
        bool unlazyWithoutCr3 = await SwitchMmIrqsOff(mm);
        // The twin's default closes Piggin's reported gap (B8b): after an unlazy without a CR3
        // write, sync the core if the mm registered SYNC_CORE. --bug B8b runs mainline.
        if (unlazyWithoutCr3 && !Kernel.Config.Has(BugSet.B8b)
            && (Mm(CurrentMm).MembarrierState & MembarrierState.SyncCore) != 0)
        {
            SyncCoreBeforeUsermode(OrderingSite.KthreadUseMmSyncCore);
        }
        IrqsOn();
        if (!Kernel.Config.Has(BugSet.B3)) Barrier(OrderingSite.KthreadUseMmMmdrop);
    }

    /// <summary>
    /// kthread_unuse_mm(): <c>smp_mb__after_spinlock()</c> (scenario E's (d)), then with interrupts
    /// off <c>tsk->mm = NULL</c>, membarrier_update_current_mm(NULL), enter_lazy_tlb(); then the
    /// owner's mmput(). B3 drops the barrier and the runqueue update.
    /// </summary>
    private async KernelPath KthreadUnuseMm()
    {
        if (!Kernel.Config.Has(BugSet.B3)) Barrier(OrderingSite.KthreadUnuseMm);
        await KernelStep();
        int mm = CurrentMm;
        IrqsOff();
        await Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.SetTaskMm, Curr, KernelIds.None, MmChangeReason.KthreadUnuseMm));
        CurrMmStored(KernelIds.None);
        if (!Kernel.Config.Has(BugSet.B3)) await MembarrierUpdateCurrentMm(KernelIds.None);
        Raise(new LazyTlbEntered(Id, mm));
        IrqsOn();
        await Store(MmRef(mm), new MmWrite(NextToken(), MmOp.UsersChanged, Value: -1));
    }
}
