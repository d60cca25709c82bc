using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Machine;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// __schedule() → context_switch() → finish_task_switch() (kernel-model §2.1), in three phases:
// the rq->curr store, the address-space switch (itself two phases for another mm: the
// LOADED_MM_SWITCHING window), and the finish. Interrupts are off from rq_lock to the finish.
public sealed partial class CpuActor
{
    /// <summary>
    /// Picks the next task and, if it differs, starts the switch. Returns false when the current
    /// task keeps the CPU (the caller continues it). <paramref name="prevState"/> says whether the
    /// outgoing task stays runnable.
    /// </summary>
    private bool Schedule(PrevState prevState)
    {
        int prev = State.Curr;
        bool prevKeepsCpu = prevState == PrevState.Runnable && !KernelIds.IsIdle(prev);
        int next = _offlinePending ? KernelIds.IdleTask(Id)
            : State.Runqueue.Count > 0 ? State.Runqueue[0]
            : prevKeepsCpu ? prev
            : KernelIds.IdleTask(Id);
        _needResched = false;
        if (next == prev)
        {
            if (!KernelIds.IsIdle(prev)) StartSlice();
            return false;
        }
        // Leaving idle is a kernel entry for context tracking (ct_idle_exit).
        if (KernelIds.IsIdle(prev)) CtKernelEnter();
        _irqsOff = true;
        Timers.Cancel(SliceTimer);
        // rq_lock(); smp_mb__after_spinlock(): pairs with membarrier's exit barrier (c).
        Barrier(BarrierReason.SchedSpinlock);
        if (!KernelIds.IsIdle(prev))
        {
            // prepare_task_switch(): rseq_preempt(prev).
            TaskRuntime p = _kernel.Runtime(prev);
            if (p.InRseqCs)
            {
                p.InRseqCs = false;
                Persist(new RseqAborted(Id, prev, ByIpi: false));
            }
        }
        TaskInfo prevInfo = _kernel.Tasks.Get(prev);
        TaskInfo nextInfo = _kernel.Tasks.Get(next);
        // kernel → user: the kthread's borrowed mm (init_mm too) becomes rq->prev_mm, dropped in finish_task_switch.
        int prevMm = nextInfo.Mm != KernelIds.None && prevInfo.Mm == KernelIds.None ? State.ActiveMm : KernelIds.NoPrevMm;
        Persist(new SchedSwitched(Id, prev, next, prevState, prevMm));
        CurrMmStored(nextInfo.Mm);
        _kernel.QuiescentStates[Id]++;
        // membarrier_switch_mm(): the runqueue copy follows the incoming mm. Mainline returns early
        // when prev->active_mm == next->mm; after kthread_unuse_mm/exit_mm that leaves a cleared copy (B21).
        bool copy = nextInfo.Mm != KernelIds.None && (State.ActiveMm != nextInfo.Mm || !_kernel.Config.Has(BugSet.B21));
        if (copy)
        {
            int state = _kernel.Mm(nextInfo.Mm).State.MembarrierState;
            if (State.RqMembarrierState != state) Persist(new RqMembarrierStateSet(Id, state, RqStateReason.SwitchMm));
        }
        ContinueAfter(StepNs(), CpuPhase.SchedMm);
        return true;
    }

    /// <summary>context_switch(): enter_lazy_tlb for a kernel thread, switch_mm_irqs_off otherwise.</summary>
    private void ScheduleSwitchMm()
    {
        TaskInfo next = _kernel.Tasks.Get(State.Curr);
        if (next.Mm == KernelIds.None)
        {
            Persist(new LazyTlbEntered(Id, State.ActiveMm));
            FinishTaskSwitch();
            return;
        }
        if (SwitchMmStart(next.Mm)) ContinueAfter(StepNs(), CpuPhase.SchedMmLoad);
        else FinishTaskSwitch();
    }

    private void ScheduleLoadMm()
    {
        SwitchMmLoad();
        FinishTaskSwitch();
    }

    /// <summary>
    /// finish_task_switch(): arm64's switch_to barrier; for kernel → user, the membarrier SYNC_CORE
    /// sync and mmdrop_lazy_tlb's barrier (B8); interrupts back on; then the incoming task runs.
    /// </summary>
    private void FinishTaskSwitch()
    {
        if (_arch.SwitchToIsFullBarrier) Barrier(BarrierReason.SwitchTo);
        int prevMm = State.PrevMm;
        if (prevMm != KernelIds.NoPrevMm)
        {
            // membarrier_mm_sync_core_before_usermode(mm): only when current->mm is that mm and SYNC_CORE is registered.
            if (!_kernel.Config.Has(BugSet.B8) && CurrentMm == prevMm
                && (_kernel.Mm(prevMm).State.MembarrierState & MembarrierState.SyncCore) != 0)
            {
                SyncCoreBeforeUsermode(CoreSerializeReason.SyncCore);
            }
            Barrier(BarrierReason.MmdropLazyTlb);
        }
        IrqsOn();
        ResumeCurrent();
    }

    /// <summary>Continues the task now on the CPU from where it stopped.</summary>
    private void ResumeCurrent()
    {
        int curr = State.Curr;
        if (KernelIds.IsIdle(curr))
        {
            _phase = CpuPhase.Idle;
            _token++;
            if (_offlinePending)
            {
                GoOffline();
                return;
            }
            if (State.Runqueue.Count > 0) Schedule(PrevState.Runnable);
            return;
        }
        StartSlice();
        TaskRuntime task = _kernel.Runtime(curr);
        if (_kernel.Tasks.Get(curr).Kthread)
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

    private void IrqsOff() => _irqsOff = true;

    /// <summary>local_irq_enable(): interrupts that arrived meanwhile are taken now, in kernel mode.</summary>
    private void IrqsOn()
    {
        _irqsOff = false;
        while (_pendingIpis.Count > 0) HandleIpiInKernel(_pendingIpis.Dequeue());
    }
}
