using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Machine;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// The running task's program: user work and syscalls for user tasks; kernel work and
// kthread_use/unuse_mm for kernel threads (kernel-model §2.5).
public sealed partial class CpuActor
{
    private int _execOldMm;

    /// <summary>Runs user code for <paramref name="ns"/> (the rest of a step after an interrupt).</summary>
    private void ContinueUserWork(long ns)
    {
        _workUntilNs = Context.NowNs + ns;
        ContinueAfter(ns, CpuPhase.UserSpin);
    }

    /// <summary>The user work of a Spin or Rseq step is done; an rseq section that was not aborted commits.</summary>
    private void EndUserWork()
    {
        TaskRuntime task = Current;
        if (task.Current.Kind == StepKind.Rseq && task.InRseqCs)
        {
            task.InRseqCs = false;
            Persist(new RseqCsCommitted(Id, State.Curr));
        }
        NextUserStep();
    }

    /// <summary>
    /// A full barrier (smp_mb or an equivalent) of the kernel path <paramref name="reason"/>, unless
    /// the config removes that barrier for a litmus experiment (<c>litmus.omitBarrier</c>).
    /// </summary>
    private void Barrier(BarrierReason reason)
    {
        if (reason == _kernel.Config.OmitBarrier) return;
        if (_kernel.Faults is { } f && f.SkipsBarrier(Id, reason))
        {
            Persist(new FaultInjected(Id, FaultKind.SkipBarrier, Id, (int)reason, 0));
            return;
        }
        Persist(new FullBarrier(Id, reason));
        _currMmSeen?.Drain();
    }

    /// <summary>A litmus store or load of user memory by the current task.</summary>
    private void PersistAccess(Step step)
    {
        if (step.Kind == StepKind.Store) Persist(new UserStored(Id, State.Curr, step.Target, step.Cmd));
        else Persist(new UserLoaded(Id, State.Curr, step.Target, step.Cmd));
    }

    /// <summary>The user task takes its next step (in user mode).</summary>
    private void NextUserStep()
    {
        TaskRuntime task = Current;
        if (!task.Program.TryNext(task, _kernel, Context.Random, out Step step))
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
                Persist(new RseqCsEntered(Id, State.Curr));
                ContinueUserWork(step.Ns);
                break;
            case StepKind.WriteCode:
                Persist(new CodeWritten(Id, State.Curr, CurrentMm));
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
                StartNewTask(_kernel.Fork(State.Curr, step.Target));
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
                StartNewTask(_kernel.CloneThread(State.Curr, step.Target));
                break;
            case StepKind.TextPoke:
            case StepKind.TextExec:
                TextStep(step, TextContext.Syscall, CpuPhase.SyscallExit);
                break;
            case StepKind.Exit:
                // exit_mm(): mmgrab_lazy_tlb; task_lock; smp_mb__after_spinlock() (scenario D; B2 drops it).
                if (!_kernel.Config.Has(BugSet.B2)) Barrier(BarrierReason.ExitMm);
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
        _kernel.CpuRefs[_kernel.WakeTargetCpu(task, Context.Random)].Tell(new TaskWakeup(task));
        ContinueAfter(StepNs(), CpuPhase.SyscallExit);
    }

    /// <summary>Blocks the current task; it wakes on its CPU (or a random one) after <paramref name="ns"/>.</summary>
    private void SleepFor(long ns)
    {
        int task = State.Curr;
        Context.System.ScheduleTellOnce(ns, _kernel.CpuRefs[_kernel.WakeTargetCpu(task, Context.Random)], new TaskWakeup(task));
        Schedule(PrevState.Sleeping);
    }

    /// <summary>exit_mm() under interrupts off.</summary>
    private void ExitMmClear()
    {
        int task = State.Curr;
        int mm = CurrentMm;
        IrqsOff();
        _kernel.Machine.SetTaskMm(task, KernelIds.None, MmChangeReason.ExitMm);
        CurrMmStored(KernelIds.None);
        if (!_kernel.Config.Has(BugSet.B2)) UpdateCurrentMm(KernelIds.None);
        Persist(new LazyTlbEntered(Id, mm));
        IrqsOn();
        _kernel.Mm(mm).UsersChanged(-1);
        // The rest of do_exit() (files, signals, exit_notify) runs before do_task_dead() schedules away.
        ContinueAfter(StepNs(), CpuPhase.DoTaskDead);
    }

    /// <summary>do_task_dead(): the task never runs again.</summary>
    private void DoTaskDead()
    {
        _kernel.Machine.TaskDied(State.Curr);
        Current.Exited = true;
        Schedule(PrevState.Sleeping);
    }

    /// <summary>exec_mmap(): a fresh mm, membarrier_exec_mmap(), then activate_mm() switches to it.</summary>
    private void Exec()
    {
        int task = State.Curr;
        int old = CurrentMm;
        if (_kernel.Mm(old).State.Users != 1)
        {
            // de_thread() of the other threads is not modelled; the random workload execs only single-threaded processes.
            ContinueAfter(StepNs(), CpuPhase.SyscallExit);
            return;
        }
        int fresh = _kernel.NewMm(_kernel.Tasks.Get(task).Tgid);
        // membarrier_exec_mmap(): smp_mb() "to guarantee that no memory access prior to exec is
        // reordered after clearing this state", then mm and runqueue state to 0.
        Barrier(BarrierReason.ExecMmap);
        _kernel.Mm(fresh).SetMembarrierState(0, replace: true);
        Persist(new RqMembarrierStateSet(Id, 0, RqStateReason.ExecMmap));
        _kernel.Machine.SetTaskMm(task, fresh, MmChangeReason.Exec);
        CurrMmStored(fresh);
        _execOldMm = old;
        IrqsOff();
        if (SwitchMmStart(fresh)) ContinueAfter(StepNs(), CpuPhase.ExecLoad);
        else ExecLoad();
    }

    private void ExecLoad()
    {
        if (State.Switching) SwitchMmLoad();
        IrqsOn();
        _kernel.Mm(_execOldMm).UsersChanged(-1);
        ContinueAfter(StepNs(), CpuPhase.SyscallExit);
    }

    /// <summary>A kernel thread's work item is done; if it worked on a used mm, say so.</summary>
    private void EndKernelWork()
    {
        int mm = CurrentMm;
        if (mm != KernelIds.None) Persist(new KthreadWorkEnded(Id, State.Curr, mm));
        NextKernelStep();
    }

    /// <summary>A kernel thread takes its next step (it never enters user mode).</summary>
    private void NextKernelStep()
    {
        TaskRuntime task = Current;
        task.Resume = ResumeKind.KernelContinue;
        _kernel.QuiescentStates[Id]++; // cond_resched(): a kthread reports a quiescent state between work items
        if (_needResched && WantsSchedule && Schedule(PrevState.Runnable)) return;
        if (!task.Program.TryNext(task, _kernel, Context.Random, out Step step))
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
                if (mm != KernelIds.None) Persist(new KthreadWorkBegan(Id, State.Curr, mm));
                _workUntilNs = Context.NowNs + step.Ns;
                ContinueAfter(step.Ns, CpuPhase.KernelSpin);
                break;
            case StepKind.Sleep:
                SleepFor(step.Ns);
                break;
            case StepKind.Yield:
                if (!Schedule(PrevState.Runnable)) ContinueAfter(StepNs(), CpuPhase.KernelNext);
                break;
            case StepKind.UseMm:
                int target = _kernel.MmOfProcess(step.Target);
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
        // The kthread's owner pins the mm first (io_uring, vhost: mmget_not_zero), so mm_users counts it.
        _kernel.Mm(mm).UsersChanged(+1);
        IrqsOff();
        _kernel.Machine.SetTaskMm(State.Curr, mm, MmChangeReason.KthreadUseMm);
        CurrMmStored(mm);
        if (!_kernel.Config.Has(BugSet.B3)) UpdateCurrentMm(mm);
        if (SwitchMmStart(mm))
        {
            ContinueAfter(StepNs(), CpuPhase.UseMmLoad);
            return;
        }
        KthreadUseMmFinish(sameMmWithoutCr3: _unlazyWithoutCr3);
    }

    private void KthreadUseMmLoad()
    {
        SwitchMmLoad();
        KthreadUseMmFinish(sameMmWithoutCr3: false);
    }

    private void KthreadUseMmFinish(bool sameMmWithoutCr3)
    {
        int mm = CurrentMm;
        // The twin's default closes Piggin's reported gap (B8b): after an unlazy without a CR3
        // write, sync the core if the mm registered SYNC_CORE. --bug B8b runs mainline.
        if (sameMmWithoutCr3 && !_kernel.Config.Has(BugSet.B8b)
            && (_kernel.Mm(mm).State.MembarrierState & MembarrierState.SyncCore) != 0)
        {
            SyncCoreBeforeUsermode(CoreSerializeReason.SyncCore);
        }
        IrqsOn();
        if (!_kernel.Config.Has(BugSet.B3)) Barrier(BarrierReason.MmdropLazyTlb);
        ContinueAfter(StepNs(), CpuPhase.KernelNext);
    }

    /// <summary>kthread_unuse_mm(): smp_mb__after_spinlock() (scenario E's (d)), then tsk->mm = NULL and lazy again.</summary>
    private void KthreadUnuseMm()
    {
        if (!_kernel.Config.Has(BugSet.B3)) Barrier(BarrierReason.KthreadUnuseMm);
        ContinueAfter(StepNs(), CpuPhase.UnuseMmClear);
    }

    private void KthreadUnuseMmClear()
    {
        int mm = CurrentMm;
        IrqsOff();
        _kernel.Machine.SetTaskMm(State.Curr, KernelIds.None, MmChangeReason.KthreadUnuseMm);
        CurrMmStored(KernelIds.None);
        if (!_kernel.Config.Has(BugSet.B3)) UpdateCurrentMm(KernelIds.None);
        Persist(new LazyTlbEntered(Id, mm));
        IrqsOn();
        _kernel.Mm(mm).UsersChanged(-1); // mmput() by the owner after kthread_unuse_mm
        ContinueAfter(StepNs(), CpuPhase.KernelNext);
    }

    /// <summary>membarrier_update_current_mm(): the runqueue copy follows current->mm.</summary>
    private void UpdateCurrentMm(int mm)
    {
        int state = mm == KernelIds.None ? 0 : _kernel.Mm(mm).State.MembarrierState;
        if (State.RqMembarrierState != state) Persist(new RqMembarrierStateSet(Id, state, RqStateReason.UpdateCurrentMm));
    }
}
