using Twin.Actors;
using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Machine;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Sites;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// kernel/sched/core.c: __schedule() → context_switch() → finish_task_switch() (kernel-model
// §2.1). The runqueue holds what the rq lock protects: the lock, the pick's queue, rq->curr,
// rq->prev_mm and rq->membarrier_state are stores to it the CPU waits for. Interrupts are off from
// rq_lock() to the end of finish_task_switch().
public sealed partial class CpuActor
{
    /// <summary>
    /// __schedule(): <c>rq_lock(); smp_mb__after_spinlock();</c> the pick, <c>rseq_preempt(prev)</c>,
    /// <c>RCU_INIT_POINTER(rq->curr, next)</c> with <c>membarrier_switch_mm()</c>, then
    /// context_switch(). Returns false when prev keeps the CPU (the caller goes on), true once the
    /// switch is done and the next task runs (the caller's path ends: the outgoing task resumes
    /// later, by <see cref="TaskRuntime.Resume"/>, in a path of its own).
    /// </summary>
    private async KernelPath<bool> Schedule(PrevState prevState)
    {
        int prev = Curr;
        _needResched = false;
        // A look at the queue without the lock: if prev keeps the CPU, __schedule() would pick it
        // again and change nothing. Remote wakeups only ever append to the queue.
        if (PickNext(prev, prevState) == prev)
        {
            if (!KernelIds.IsIdle(prev)) StartSlice();
            return false;
        }
        // Leaving idle is a kernel entry for context tracking (ct_idle_exit).
        if (KernelIds.IsIdle(prev)) CtKernelEnter();
        _irqsOff = true;
        CancelSlice();
        await Store(RqRef, new RqLock(NextToken()));
        // smp_mb__after_spinlock(): pairs with membarrier's exit barrier (c).
        Barrier(OrderingSite.SchedSpinlock);
        if (!KernelIds.IsIdle(prev)) RseqPreempt(prev);
        // Under the lock the pick can only have gained a task that was woken meanwhile.
        int next = PickNext(prev, prevState);
        Invariant.Assert(next != prev, "a locked pick never falls back to prev: the queue only grew");
        TaskInfo prevInfo = Machine.Task(prev);
        TaskInfo nextInfo = Machine.Task(next);
        // kernel → user: the kthread's borrowed mm (init_mm too) becomes rq->prev_mm, dropped in finish_task_switch.
        int prevMm = nextInfo.Mm != KernelIds.None && prevInfo.Mm == KernelIds.None ? State.ActiveMm : KernelIds.NoPrevMm;
        // membarrier_switch_mm(): the runqueue copy follows the incoming mm. Mainline returns early
        // when prev->active_mm == next->mm; after kthread_unuse_mm/exit_mm that leaves a cleared copy (B21).
        bool copy = nextInfo.Mm != KernelIds.None && (State.ActiveMm != nextInfo.Mm || !Kernel.Config.Has(BugSet.B21));
        await Store(RqRef, new RqSwitch(NextToken(), prev, next, prevState, prevMm, copy));
        CurrMmStored(nextInfo.Mm);
        QuiescentStates++;
        await KernelStep();
        await ContextSwitch();
        return true;
    }

    /// <summary>pick_next_task(): the queue's head, else prev if it stays runnable, else idle (and idle when going offline).</summary>
    private int PickNext(int prev, PrevState prevState)
    {
        bool prevKeepsCpu = prevState == PrevState.Runnable && !KernelIds.IsIdle(prev);
        return _offlinePending ? KernelIds.IdleTask(Id)
            : Rq.Queued > 0 ? Rq.QueueHead
            : prevKeepsCpu ? prev
            : KernelIds.IdleTask(Id);
    }

    /// <summary>prepare_task_switch(): rseq_preempt(prev) aborts its rseq critical section.</summary>
    private void RseqPreempt(int prev)
    {
        TaskRuntime p = Kernel.Runtime(prev);
        if (!p.InRseqCs) return;
        p.InRseqCs = false;
        Raise(new RseqAborted(Id, prev, ByIpi: false));
    }

    /// <summary>
    /// context_switch(): a kernel thread borrows prev's active_mm (<c>enter_lazy_tlb()</c>), a user
    /// task's mm is switched to (<c>switch_mm_irqs_off()</c>); then finish_task_switch().
    /// </summary>
    private async KernelPath ContextSwitch()
    {
        TaskInfo next = Machine.Task(Curr);
        if (next.Mm == KernelIds.None) Raise(new LazyTlbEntered(Id, State.ActiveMm));
        else await SwitchMmIrqsOff(next.Mm);
        await FinishTaskSwitch();
    }

    /// <summary>
    /// finish_task_switch(): arm64's switch_to barrier; for kernel → user, rq->prev_mm taken (a
    /// store to the runqueue), membarrier_mm_sync_core_before_usermode() and mmdrop_lazy_tlb's
    /// barrier (B8); finish_lock_switch() with interrupts back on; then the incoming task runs.
    /// </summary>
    private async KernelPath FinishTaskSwitch()
    {
        if (_arch.SwitchToIsFullBarrier) Barrier(OrderingSite.SwitchTo);
        int prevMm = Rq.PrevMm;
        if (prevMm == KernelIds.NoPrevMm)
        {
            // finish_lock_switch() alone: a posted unlock (this CPU's next lock comes after it in order).
            RqRef.Tell(new RqFinishSwitch(0, prevMm), Self);
        }
        else
        {
            prevMm = (int)await Store(RqRef, new RqFinishSwitch(NextToken(), prevMm));
            MmdropLazyTlbSched(prevMm);
        }
        IrqsOn();
        ResumeCurrent();
    }

    /// <summary>
    /// mmdrop_lazy_tlb_sched(prev_mm) after membarrier_mm_sync_core_before_usermode(): the sync only
    /// when current->mm is that mm and it registered SYNC_CORE; then the barrier.
    /// </summary>
    private void MmdropLazyTlbSched(int prevMm)
    {
        if (!Kernel.Config.Has(BugSet.B8) && CurrentMm == prevMm
            && (Mm(prevMm).MembarrierState & MembarrierState.SyncCore) != 0)
        {
            SyncCoreBeforeUsermode(OrderingSite.FinishTaskSwitchSyncCore);
        }
        Barrier(OrderingSite.FinishTaskSwitchMmdrop);
    }

    /// <summary>A reason to leave the current task: tasks wait on the runqueue, or the CPU is to go offline.</summary>
    private bool WantsSchedule => Rq.Queued > 0 || _offlinePending;
}
