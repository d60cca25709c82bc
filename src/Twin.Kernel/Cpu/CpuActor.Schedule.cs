using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Sites;
using Twin.Kernel.Machine;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// __schedule() → context_switch() → finish_task_switch() (kernel-model §2.1): the pick and the
// rq->curr store (one step of the runqueue, which holds what the rq lock protects), the
// address-space switch (itself two phases for another mm: the LOADED_MM_SWITCHING window), and
// the finish. Interrupts are off from rq_lock to the finish.
public sealed partial class CpuActor
{
    private int _switchNextMm;

    private PrevState _switchPrevState;

    /// <summary>
    /// Picks the next task and, if it differs, starts the switch. Returns false when the current
    /// task keeps the CPU (the caller continues it). <paramref name="prevState"/> says whether the
    /// outgoing task stays runnable.
    /// </summary>
    private bool Schedule(PrevState prevState)
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
        _switchPrevState = prevState;
        Store(RqRef, new RqLock(NextToken()), CpuPhase.SchedLocked);
        return true;
    }

    /// <summary>pick_next_task(): the queue's head, else prev if it stays runnable, else idle (and idle when going offline).</summary>
    private int PickNext(int prev, PrevState prevState)
    {
        bool prevKeepsCpu = prevState == PrevState.Runnable && !KernelIds.IsIdle(prev);
        return _offlinePending ? KernelIds.IdleTask(Id)
            : Rq.Queue.Count > 0 ? Rq.Queue[0]
            : prevKeepsCpu ? prev
            : KernelIds.IdleTask(Id);
    }

    /// <summary>rq_lock() is held: smp_mb__after_spinlock(), rseq_preempt, the pick, and the rq->curr store.</summary>
    private void ScheduleLocked()
    {
        int prev = Curr;
        // smp_mb__after_spinlock(): pairs with membarrier's exit barrier (c).
        Barrier(OrderingSite.SchedSpinlock);
        if (!KernelIds.IsIdle(prev))
        {
            // prepare_task_switch(): rseq_preempt(prev).
            TaskRuntime p = Kernel.Runtime(prev);
            if (p.InRseqCs)
            {
                p.InRseqCs = false;
                Raise(new RseqAborted(Id, prev, ByIpi: false));
            }
        }
        // Under the lock the pick can only have gained a task that was woken meanwhile.
        int next = PickNext(prev, _switchPrevState);
        Invariant.Assert(next != prev, "a locked pick never falls back to prev: the queue only grew");
        TaskInfo prevInfo = Kernel.Tasks.Get(prev);
        TaskInfo nextInfo = Kernel.Tasks.Get(next);
        // kernel → user: the kthread's borrowed mm (init_mm too) becomes rq->prev_mm, dropped in finish_task_switch.
        int prevMm = nextInfo.Mm != KernelIds.None && prevInfo.Mm == KernelIds.None ? State.ActiveMm : KernelIds.NoPrevMm;
        // membarrier_switch_mm(): the runqueue copy follows the incoming mm. Mainline returns early
        // when prev->active_mm == next->mm; after kthread_unuse_mm/exit_mm that leaves a cleared copy (B21).
        bool copy = nextInfo.Mm != KernelIds.None && (State.ActiveMm != nextInfo.Mm || !Kernel.Config.Has(BugSet.B21));
        _switchNextMm = nextInfo.Mm;
        Store(RqRef, new RqSwitch(NextToken(), prev, next, _switchPrevState, prevMm, copy), CpuPhase.SchedSwitched);
    }

    /// <summary>rq->curr = next is visible: the incoming task's mm follows in context_switch().</summary>
    private void ScheduleSwitched()
    {
        CurrMmStored(_switchNextMm);
        QuiescentStates++;
        ContinueAfter(StepNs(), CpuPhase.SchedMm);
    }

    /// <summary>context_switch(): enter_lazy_tlb for a kernel thread, switch_mm_irqs_off otherwise.</summary>
    private void ScheduleSwitchMm()
    {
        TaskInfo next = Kernel.Tasks.Get(Curr);
        if (next.Mm == KernelIds.None)
        {
            Raise(new LazyTlbEntered(Id, State.ActiveMm));
            FinishTaskSwitch();
            return;
        }
        SwitchMmStart(next.Mm, load: CpuPhase.SchedMmLoad, same: CpuPhase.SchedFinish);
    }

    /// <summary>
    /// finish_task_switch(): arm64's switch_to barrier; for kernel → user, rq->prev_mm taken (a
    /// store to the runqueue), the membarrier SYNC_CORE sync and mmdrop_lazy_tlb's barrier (B8);
    /// interrupts back on; then the incoming task runs.
    /// </summary>
    private void FinishTaskSwitch()
    {
        if (_arch.SwitchToIsFullBarrier) Barrier(OrderingSite.SwitchTo);
        int prevMm = Rq.PrevMm;
        if (prevMm == KernelIds.NoPrevMm)
        {
            // finish_lock_switch() alone: a posted unlock (this CPU's next lock comes after it in order).
            RqRef.Tell(new RqFinishSwitch(0, prevMm), Self);
            FinishTaskSwitchTail();
            return;
        }
        Store(RqRef, new RqFinishSwitch(NextToken(), prevMm), CpuPhase.SchedPrevMmTaken);
    }

    /// <summary>mmdrop_lazy_tlb(prev_mm): membarrier_mm_sync_core_before_usermode(mm) only when current->mm is that mm and SYNC_CORE is registered; then the barrier.</summary>
    private void DropPrevMm()
    {
        int prevMm = (int)_reply;
        if (!Kernel.Config.Has(BugSet.B8) && CurrentMm == prevMm
            && (Kernel.Mm(prevMm).State.MembarrierState & MembarrierState.SyncCore) != 0)
        {
            SyncCoreBeforeUsermode(OrderingSite.FinishTaskSwitchSyncCore);
        }
        Barrier(OrderingSite.FinishTaskSwitchMmdrop);
        FinishTaskSwitchTail();
    }

    private void FinishTaskSwitchTail()
    {
        IrqsOn();
        ResumeCurrent();
    }

    /// <summary>Continues the task now on the CPU from where it stopped.</summary>
    private void ResumeCurrent()
    {
        int curr = Curr;
        if (KernelIds.IsIdle(curr))
        {
            _phase = CpuPhase.Idle;
            _token++;
            if (_offlinePending)
            {
                GoOffline();
                return;
            }
            if (Rq.Queue.Count > 0) Schedule(PrevState.Runnable);
            return;
        }
        StartSlice();
        TaskRuntime task = Kernel.Runtime(curr);
        if (Kernel.Tasks.Get(curr).Kthread)
        {
            ContinueAfter(StepNs(), CpuPhase.KernelNext);
            return;
        }
        switch (task.Resume)
        {
            case ResumeKind.StartNew:
                // ret_from_fork returns through the interrupt path.
                ReturnToUser(_arch.PathFor(viaSyscall: false, forcedIret: false));
                ContinueAfter(StepNs(), CpuPhase.UserNext);
                break;
            case ResumeKind.ReturnFromSyscall:
                ContinueAfter(StepNs(), CpuPhase.SyscallExit);
                break;
            case ResumeKind.ReturnFromInterrupt:
                ReturnToUser(_arch.PathFor(viaSyscall: false, forcedIret: false));
                ContinueUserWork(task.RemainingNs);
                break;
            default:
                Invariant.Assert(false, "a user task resumes from user mode, a syscall or fork");
                break;
        }
    }

    /// <summary>try_to_wake_up() queued a task on this CPU's runqueue: an idle CPU with interrupts on schedules it now.</summary>
    private void OnRqWoken()
    {
        if (_inException)
        {
            _excWoken = true;
            return;
        }
        if (!State.Online) return;
        ArmNmi();
        if (_phase == CpuPhase.Idle && !_irqsOff) Schedule(PrevState.Runnable);
    }

    private void IrqsOff() => _irqsOff = true;

    /// <summary>
    /// local_irq_enable(): interrupts that arrived meanwhile are taken now, in kernel mode. A handler
    /// that must store to the runqueue (and wait for it) is taken a moment later instead, as a fresh
    /// interrupt, with those queued behind it: interrupt delivery may lag, and the code after the
    /// enable cannot wait.
    /// </summary>
    private void IrqsOn()
    {
        _irqsOff = false;
        while (_pendingIpis.Count > 0)
        {
            int slot = _pendingIpis.Peek();
            if (slot != SpuriousSlot && HandlerStores(slot))
            {
                while (_pendingIpis.Count > 0) Redeliver(_pendingIpis.Dequeue());
                return;
            }
            HandleIpiInKernel(_pendingIpis.Dequeue());
        }
    }

    /// <summary>An interrupt taken again as a fresh arrival, after the actors ready now.</summary>
    private void Redeliver(int slot)
    {
        if (slot == SpuriousSlot) TellAfter(0, Self, new SpuriousIrq(Storm: false));
        else TellAfter(0, Self, new IpiArrived(slot));
    }
}
