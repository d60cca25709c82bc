using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Ipi;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Sites;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// Kernel entry and exit (kernel/entry/common.c: irqentry_enter_from_user_mode(),
// irqentry_exit_to_user_mode(), the syscall's enter and exit): an interrupt from user mode runs
// its handler and leaves through the IRQ exit path, which may reschedule (then the task switched
// in returns by its own path: the B4/B5 window); else it IRETs back to the interrupted work.
public sealed partial class CpuActor
{
    /// <summary>
    /// An interrupt taken in user mode: kernel entry, the handler (<paramref name="slot"/>: a csd,
    /// <see cref="TickSlot"/> or <see cref="SpuriousSlot"/>), then irqentry_exit_to_user_mode():
    /// schedule() when asked (the tick always asks; <c>kernel.reschedOnIrqExit</c> stands for other
    /// reasons) and another task waits, else IRET to the rest of the interrupted work.
    /// </summary>
    private async KernelPath IrqFromUserMode(int slot, long remainingNs)
    {
        EnterKernel(EntryReason.Interrupt);
        if (slot >= 0) await HandleIpi(slot);
        TaskRuntime task = Current;
        bool resched = slot == TickSlot || _needResched || Random.Chance(Kernel.Config.Timing.ReschedOnIrqExit);
        if (resched && WantsSchedule)
        {
            task.Resume = ResumeKind.ReturnFromInterrupt;
            task.RemainingNs = remainingNs;
            if (await Schedule(PrevState.Runnable)) return;
        }
        else if (slot == TickSlot)
        {
            StartSlice();
        }
        Launch(UserTask(ResumeKind.ReturnFromInterrupt, remainingNs));
    }

    /// <summary>An interrupt taken in kernel mode, interrupts on: the handler, then the return to the interrupted kernel code.</summary>
    private async KernelPath IrqInKernel(int slot)
    {
        if (slot != SpuriousSlot) await HandleIpi(slot);
        InterruptReturnToKernel();
    }

    /// <summary>
    /// The hardirq of an IPI (generic_smp_call_function_single_interrupt(), kernel/smp.c), in a
    /// frame of its own: the cross-call queued on csd <paramref name="slot"/> runs, then
    /// csd_unlock(). ipi_sync_rq_state waits for its store inside the handler.
    /// </summary>
    private async KernelPath HandleIpi(int slot)
    {
        Push(_irq);
        if (HandlerStores(slot)) await IpiSyncRqState(slot);
        else RunIpi(slot);
        Pop(_irq);
    }

    /// <summary>The handler queued on <paramref name="slot"/> stores to this CPU's runqueue: ipi_sync_rq_state where current->mm is the registering mm.</summary>
    private bool HandlerStores(int slot)
    {
        IpiSent sent = CsdCall(slot);
        return sent.Kind == IpiKind.SyncRqState && !KernelIds.IsIdle(Curr) && CurrentMm == sent.Mm;
    }

    /// <summary>
    /// ipi_sync_rq_state() (kernel/sched/membarrier.c) on a CPU running the mm:
    /// <c>WRITE_ONCE(rq->membarrier_state, atomic_read(&amp;mm->membarrier_state))</c>, a store the
    /// handler waits for, then <c>smp_mb()</c>.
    /// </summary>
    private async KernelPath IpiSyncRqState(int slot)
    {
        IpiSent sent = CsdCall(slot);
        await StoreOn(_irq, RqRef, new RqSetMembarrierState(_irq.NextToken(), Mm(sent.Mm).MembarrierState, RqStateReason.IpiSyncRqState));
        sent = CsdCall(slot);
        Barrier(OrderingSite.IpiSyncRqStateBarrier);
        Raise(new IpiHandled(Id, sent.Ipi, sent.Kind, sent.From));
        UnlockCsd(slot);
    }

    /// <summary>Kernel entry from user mode (a syscall, an interrupt), journaled, then context tracking's entry work.</summary>
    private void EnterKernel(EntryReason reason)
    {
        Raise(new KernelEntered(Id, Curr, reason));
        CtKernelEnter();
        // An interrupt's entry runs to its handler in one step: no window before re-registering.
        if (reason == EntryReason.Interrupt) _ipiRegistered = true;
    }

    /// <summary>
    /// Returns the running task to user mode by <paramref name="path"/>. The serialization the path
    /// implies (IRET, PTI's CR3 switch, exception return) completes before the first user
    /// instruction, so it is journaled first.
    /// </summary>
    private void ReturnToUser(ReturnPath path)
    {
        switch (_arch.SerializationOf(path))
        {
            case CoreSerializeReason.PtiCr3: Serialize(OrderingSite.UserReturnPtiCr3); break;
            case CoreSerializeReason.Iret: Serialize(OrderingSite.UserReturnIret); break;
            case CoreSerializeReason.ExceptionReturn: Serialize(OrderingSite.UserReturnEret); break;
        }
        IpiRegistration(false);
        Raise(new ReturnedToUser(Id, Curr, path));
    }
}
