using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Machine;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Sites;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// The running task's program: user work and syscalls for user tasks; kernel work and
// kthread_use/unuse_mm for kernel threads (kernel-model §2.5). Each store to the task table, an
// mm or the runqueue is one the CPU waits for, so these paths are chains of phases.
public sealed partial class CpuActor
{
    private int _execOldMm;
    private int _execNewMm;
    private int _exitMm;
    private int _useMm;

    /// <summary>Runs user code for <paramref name="ns"/> (the rest of a step after an interrupt).</summary>
    private void ContinueUserWork(long ns)
    {
        _workUntilNs = NowNs + ns;
        ContinueAfter(ns, CpuPhase.UserSpin);
    }

    /// <summary>The user work of a Spin or Rseq step is done; an rseq section that was not aborted commits.</summary>
    private void EndUserWork()
    {
        TaskRuntime task = Current;
        if (task.Current.Kind == StepKind.Rseq && task.InRseqCs)
        {
            task.InRseqCs = false;
            Raise(new RseqCsCommitted(Id, Curr));
        }
        NextUserStep();
    }

    /// <summary>
    /// The full barrier (smp_mb or an equivalent) of <paramref name="site"/>, unless the config
    /// leaves the site out (<c>omit</c>) or a skip-barrier fault fires there.
    /// </summary>
    private void Barrier(OrderingSite site)
    {
        if (Kernel.Omits(site)) return;
        var reason = (BarrierReason)SiteCatalog.ReasonOf(site);
        if (Kernel.Faults is { } f && f.SkipsBarrier(Id, reason, site))
        {
            Raise(new FaultInjected(Id, FaultKind.SkipBarrier, Id, (int)reason, 0));
            return;
        }
        Raise(new FullBarrier(Id, reason));
        DrainKernelStores();
    }

    /// <summary>A litmus store or load of user memory by the current task.</summary>
    private void PersistAccess(Step step)
    {
        if (step.Kind == StepKind.Store) Raise(new UserStored(Id, Curr, step.Target, step.Cmd));
        else Raise(new UserLoaded(Id, Curr, step.Target, step.Cmd));
    }

    /// <summary>The user task takes its next step (in user mode).</summary>
    private void NextUserStep()
    {
        TaskRuntime task = Current;
        if (!task.Program.TryNext(task, Kernel, Random, out Step step))
        {
            // The program is over: the task blocks for good (as in a final pause()).
            task.Parked = true;
            EnterKernel(EntryReason.Syscall);
            Schedule(PrevState.Sleeping);
            return;
        }
        task.Current = step;
        switch (step.Kind)
        {
            case StepKind.Spin:
                ContinueUserWork(step.Ns);
                break;
            case StepKind.Rseq:
                task.InRseqCs = true;
                Raise(new RseqCsEntered(Id, Curr));
                ContinueUserWork(step.Ns);
                break;
            case StepKind.WriteCode:
                Raise(new CodeWritten(Id, Curr, CurrentMm));
                ContinueAfter(StepNs(), CpuPhase.UserNext);
                break;
            case StepKind.Store:
            case StepKind.Load:
                PersistAccess(step);
                ContinueAfter(StepNs(), CpuPhase.UserNext);
                break;
            default:
                Invariant.Assert(step.IsSyscall, $"a user task cannot take a {step.Kind} step");
                EnterKernel(EntryReason.Syscall);
                ContinueAfter(StepNs(), CpuPhase.SyscallDispatch);
                break;
        }
    }

    private void DispatchSyscall()
    {
        IpiRegistration(true);
        TaskRuntime task = Current;
        Step step = task.Current;
        switch (step.Kind)
        {
            case StepKind.Sleep:
                task.Resume = ResumeKind.ReturnFromSyscall;
                SleepFor(step.Ns);
                break;
            case StepKind.Yield:
                task.Resume = ResumeKind.ReturnFromSyscall;
                if (!Schedule(PrevState.Runnable)) ContinueAfter(StepNs(), CpuPhase.SyscallExit);
                break;
            case StepKind.Membarrier:
                MembarrierSyscall(step);
                break;
            case StepKind.Mprotect:
            case StepKind.Munmap:
                FlushTlbMmRange(CurrentMm, freedTables: step.Kind == StepKind.Munmap, CpuPhase.SyscallExit);
                break;
            case StepKind.Fork:
                Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.Fork, Curr, step.Target), CpuPhase.ForkDone);
                break;
            case StepKind.Exec:
                Exec();
                break;
            case StepKind.ArchPrctl:
                ArchPrctl(step);
                break;
            case StepKind.TaggedSyscall:
                UntagUserPointer();
                ContinueAfter(StepNs(), CpuPhase.SyscallExit);
                break;
            case StepKind.Clone:
                Clone();
                break;
            case StepKind.TextPoke:
            case StepKind.TextExec:
                TextStep(step, TextContext.Syscall, CpuPhase.SyscallExit);
                break;
            case StepKind.Exit:
                // exit_mm(): mmgrab_lazy_tlb; task_lock; smp_mb__after_spinlock() (scenario D; B2 drops it).
                if (!Kernel.Config.Has(BugSet.B2)) Barrier(OrderingSite.ExitMm);
                ContinueAfter(StepNs(), CpuPhase.ExitMmClear);
                break;
            default:
                Invariant.Assert(false, $"{step.Kind} is not a syscall");
                break;
        }
    }

    /// <summary>wake_up_new_task() of a forked process or a cloned thread (its CPU: its affinity, or a random one); the syscall returns.</summary>
    private void StartNewTask(int task)
    {
        Kernel.RqRefs[Kernel.WakeTargetCpu(task, Random)].Tell(new TaskWakeup(task), Self);
        ContinueAfter(StepNs(), CpuPhase.SyscallExit);
    }

    /// <summary>
    /// clone(CLONE_VM | CLONE_THREAD): copy_thread() sets MM_CONTEXT_LOCK_LAM (with the LAM
    /// feature; B15 leaves it out), mmget() takes a user, then the new thread joins the process.
    /// </summary>
    private void Clone()
    {
        if (Kernel.Config.Lam && !Kernel.Config.Has(BugSet.B15))
        {
            Store(Kernel.MmRef(CurrentMm), new MmWrite(NextToken(), MmOp.LockLam), CpuPhase.CloneLamLocked);
            return;
        }
        CloneTakeUser();
    }

    private void CloneTakeUser() => Store(Kernel.MmRef(CurrentMm), new MmWrite(NextToken(), MmOp.UsersChanged, Value: +1), CpuPhase.CloneUsersGot);

    private void CloneCreateTask() =>
        Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.Clone, Curr, Current.Current.Target), CpuPhase.CloneDone);

    /// <summary>Blocks the current task; it wakes on its CPU (or a random one) after <paramref name="ns"/>.</summary>
    private void SleepFor(long ns)
    {
        int task = Curr;
        TellAfter(ns, Kernel.RqRefs[Kernel.WakeTargetCpu(task, Random)], new TaskWakeup(task));
        Schedule(PrevState.Sleeping);
    }

    /// <summary>exit_mm() under interrupts off: task->mm = NULL, membarrier_update_current_mm(NULL), enter_lazy_tlb, mmput.</summary>
    private void ExitMmClear()
    {
        _exitMm = CurrentMm;
        IrqsOff();
        Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.SetTaskMm, Curr, KernelIds.None, MmChangeReason.ExitMm), CpuPhase.ExitMmTaskCleared);
    }

    private void ExitMmTaskCleared()
    {
        CurrMmStored(KernelIds.None);
        if (!Kernel.Config.Has(BugSet.B2)) UpdateCurrentMm(KernelIds.None, CpuPhase.ExitMmRqUpdated);
        else ExitMmRqUpdated();
    }

    private void ExitMmRqUpdated()
    {
        Raise(new LazyTlbEntered(Id, _exitMm));
        IrqsOn();
        // The rest of do_exit() (files, signals, exit_notify) runs before do_task_dead() schedules away.
        Store(Kernel.MmRef(_exitMm), new MmWrite(NextToken(), MmOp.UsersChanged, Value: -1), CpuPhase.ExitMmPut);
    }

    /// <summary>do_task_dead(): the task never runs again.</summary>
    private void DoTaskDead() => Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.TaskDied, Curr), CpuPhase.DoTaskDeadDone);

    private void TaskDead()
    {
        Current.Exited = true;
        Schedule(PrevState.Sleeping);
    }

    /// <summary>exec_mmap(): a fresh mm, membarrier_exec_mmap(), then activate_mm() switches to it.</summary>
    private void Exec()
    {
        int old = CurrentMm;
        if (Kernel.Mm(old).State.Users != 1)
        {
            // de_thread() of the other threads is not modelled; the random workload execs only single-threaded processes.
            ContinueAfter(StepNs(), CpuPhase.SyscallExit);
            return;
        }
        _execOldMm = old;
        Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.NewMm, Curr, Kernel.Tasks.Get(Curr).Tgid), CpuPhase.ExecNewMm);
    }

    /// <summary>
    /// membarrier_exec_mmap(): smp_mb() "to guarantee that no memory access prior to exec is
    /// reordered after clearing this state", then mm and runqueue state to 0.
    /// </summary>
    private void ExecResetState()
    {
        _execNewMm = (int)_reply;
        Barrier(OrderingSite.ExecMmap);
        Store(Kernel.MmRef(_execNewMm), new MmWrite(NextToken(), MmOp.SetMembarrierState, Value: 0), CpuPhase.ExecMmReset);
    }

    private void ExecResetRq() => Store(RqRef, new RqSetMembarrierState(NextToken(), 0, RqStateReason.ExecMmap), CpuPhase.ExecRqReset);

    private void ExecSetTaskMm() =>
        Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.SetTaskMm, Curr, _execNewMm, MmChangeReason.Exec), CpuPhase.ExecTaskMm);

    private void ExecActivateMm()
    {
        CurrMmStored(_execNewMm);
        IrqsOff();
        SwitchMmStart(_execNewMm, load: CpuPhase.ExecLoad, same: CpuPhase.ExecLoaded);
    }

    private void ExecLoad() => SwitchMmLoad(CpuPhase.ExecLoaded);

    private void ExecLoaded()
    {
        IrqsOn();
        Store(Kernel.MmRef(_execOldMm), new MmWrite(NextToken(), MmOp.UsersChanged, Value: -1), CpuPhase.ExecOldPut);
    }

    /// <summary>A kernel thread's work item is done; if it worked on a used mm, say so.</summary>
    private void EndKernelWork()
    {
        int mm = CurrentMm;
        if (mm != KernelIds.None) Raise(new KthreadWorkEnded(Id, Curr, mm));
        NextKernelStep();
    }

    /// <summary>A kernel thread takes its next step (it never enters user mode).</summary>
    private void NextKernelStep()
    {
        TaskRuntime task = Current;
        task.Resume = ResumeKind.KernelContinue;
        QuiescentStates++; // cond_resched(): a kthread reports a quiescent state between work items
        if (_needResched && WantsSchedule && Schedule(PrevState.Runnable)) return;
        if (!task.Program.TryNext(task, Kernel, Random, out Step step))
        {
            task.Parked = true;
            Schedule(PrevState.Sleeping);
            return;
        }
        task.Current = step;
        switch (step.Kind)
        {
            case StepKind.Spin:
                int mm = CurrentMm;
                if (mm != KernelIds.None) Raise(new KthreadWorkBegan(Id, Curr, mm));
                _workUntilNs = NowNs + step.Ns;
                ContinueAfter(step.Ns, CpuPhase.KernelSpin);
                break;
            case StepKind.Sleep:
                SleepFor(step.Ns);
                break;
            case StepKind.Yield:
                if (!Schedule(PrevState.Runnable)) ContinueAfter(StepNs(), CpuPhase.KernelNext);
                break;
            case StepKind.UseMm:
                int target = Kernel.MmOfProcess(step.Target);
                if (target == KernelIds.None || CurrentMm != KernelIds.None) ContinueAfter(StepNs(), CpuPhase.KernelNext);
                else KthreadUseMm(target);
                break;
            case StepKind.UnuseMm:
                if (CurrentMm == KernelIds.None) ContinueAfter(StepNs(), CpuPhase.KernelNext);
                else KthreadUnuseMm();
                break;
            case StepKind.TextPoke:
            case StepKind.TextExec:
                TextStep(step, TextContext.Kthread, CpuPhase.KernelNext);
                break;
            case StepKind.Store:
            case StepKind.Load:
                // copy_to_user()/copy_from_user() on the used mm; without one (use_mm was skipped) there is nothing to touch.
                if (CurrentMm != KernelIds.None) PersistAccess(step);
                ContinueAfter(StepNs(), CpuPhase.KernelNext);
                break;
            default:
                Invariant.Assert(false, $"a kernel thread cannot take a {step.Kind} step");
                break;
        }
    }

    /// <summary>
    /// kthread_use_mm(mm), preceded by the owner's mmget_not_zero(): tsk->mm = mm, membarrier_update_current_mm(mm), switch_mm_irqs_off(active_mm, mm)
    /// with interrupts off, then mmdrop_lazy_tlb(active_mm)'s barrier (scenario E's (g); B3 drops them).
    /// </summary>
    private void KthreadUseMm(int mm)
    {
        _useMm = mm;
        // The kthread's owner pins the mm first (io_uring, vhost: mmget_not_zero), so mm_users counts it.
        Store(Kernel.MmRef(mm), new MmWrite(NextToken(), MmOp.UsersChanged, Value: +1), CpuPhase.UseMmGot);
    }

    private void KthreadUseMmSetTask()
    {
        IrqsOff();
        Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.SetTaskMm, Curr, _useMm, MmChangeReason.KthreadUseMm), CpuPhase.UseMmTaskSet);
    }

    private void KthreadUseMmUpdateRq()
    {
        CurrMmStored(_useMm);
        if (!Kernel.Config.Has(BugSet.B3)) UpdateCurrentMm(_useMm, CpuPhase.UseMmSwitch);
        else KthreadUseMmSwitch();
    }

    private void KthreadUseMmSwitch() => SwitchMmStart(_useMm, load: CpuPhase.UseMmLoad, same: CpuPhase.UseMmSame);

    private void KthreadUseMmFinish(bool sameMmWithoutCr3)
    {
        int mm = CurrentMm;
        // The twin's default closes Piggin's reported gap (B8b): after an unlazy without a CR3
        // write, sync the core if the mm registered SYNC_CORE. --bug B8b runs mainline.
        if (sameMmWithoutCr3 && !Kernel.Config.Has(BugSet.B8b)
            && (Kernel.Mm(mm).State.MembarrierState & MembarrierState.SyncCore) != 0)
        {
            SyncCoreBeforeUsermode(OrderingSite.KthreadUseMmSyncCore);
        }
        IrqsOn();
        if (!Kernel.Config.Has(BugSet.B3)) Barrier(OrderingSite.KthreadUseMmMmdrop);
        ContinueAfter(StepNs(), CpuPhase.KernelNext);
    }

    /// <summary>kthread_unuse_mm(): smp_mb__after_spinlock() (scenario E's (d)), then tsk->mm = NULL and lazy again.</summary>
    private void KthreadUnuseMm()
    {
        if (!Kernel.Config.Has(BugSet.B3)) Barrier(OrderingSite.KthreadUnuseMm);
        ContinueAfter(StepNs(), CpuPhase.UnuseMmClear);
    }

    private void KthreadUnuseMmClear()
    {
        _useMm = CurrentMm;
        IrqsOff();
        Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.SetTaskMm, Curr, KernelIds.None, MmChangeReason.KthreadUnuseMm), CpuPhase.UnuseTaskCleared);
    }

    private void KthreadUnuseMmUpdateRq()
    {
        CurrMmStored(KernelIds.None);
        if (!Kernel.Config.Has(BugSet.B3)) UpdateCurrentMm(KernelIds.None, CpuPhase.UnuseRqUpdated);
        else KthreadUnuseMmLazy();
    }

    private void KthreadUnuseMmLazy()
    {
        Raise(new LazyTlbEntered(Id, _useMm));
        IrqsOn();
        // mmput() by the owner after kthread_unuse_mm.
        Store(Kernel.MmRef(_useMm), new MmWrite(NextToken(), MmOp.UsersChanged, Value: -1), CpuPhase.UnusePut);
    }

    /// <summary>membarrier_update_current_mm(): the runqueue copy follows current->mm (a store when it changes); then <paramref name="then"/>.</summary>
    private void UpdateCurrentMm(int mm, CpuPhase then)
    {
        int state = mm == KernelIds.None ? 0 : Kernel.Mm(mm).State.MembarrierState;
        if (Rq.MembarrierState == state)
        {
            RunPhase(then);
            return;
        }
        Store(RqRef, new RqSetMembarrierState(NextToken(), state, RqStateReason.UpdateCurrentMm), then);
    }
}
