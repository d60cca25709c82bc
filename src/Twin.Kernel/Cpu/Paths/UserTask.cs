using Twin.Actors;
using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// A user task on this CPU: its program's steps in user mode, and the syscalls they make
// (arch/x86/entry/syscall_64.c do_syscall_64(), kernel/entry/common.c
// syscall_exit_to_user_mode()). User mode is left by a syscall, or by an interrupt, which ends
// the task's path here: the interrupt's exit to user mode starts it again where it stopped.
public sealed partial class CpuActor
{
    /// <summary>
    /// The current user task, from where it resumes: <c>ret_from_fork</c> (a new task returns by
    /// the interrupt path), <c>syscall_exit_to_user_mode()</c> (it was switched out in a syscall),
    /// or the rest of the user work an interrupt cut (it returns by IRET first); then its
    /// program's next steps. The path ends when the task leaves the CPU or an interrupt takes it.
    /// </summary>
    private async KernelPath UserTask(ResumeKind from, long remainingNs)
    {
        switch (from)
        {
            case ResumeKind.StartNew:
                ReturnToUser(_arch.PathFor(viaSyscall: false, forcedIret: false));
                if (!await UserStep()) return;
                break;
            case ResumeKind.ReturnFromSyscall:
                await KernelStep();
                if (!await SyscallExitToUserMode()) return;
                break;
            default:
                ReturnToUser(_arch.PathFor(viaSyscall: false, forcedIret: false));
                if (!await UserWork(remainingNs)) return;
                EndUserWork();
                break;
        }
        while (await NextUserStep())
        {
        }
    }

    /// <summary>The task's next step in user mode; false once it left the CPU or an interrupt took it into the kernel.</summary>
    private async KernelPath<bool> NextUserStep()
    {
        TaskRuntime task = Current;
        if (!task.Program.TryNext(task, Kernel, Random, out Step step))
        {
            // The program is over: the task blocks for good (as in a final pause()).
            task.Parked = true;
            EnterKernel(EntryReason.Syscall);
            await Schedule(PrevState.Sleeping);
            return false;
        }
        task.Current = step;
        switch (step.Kind)
        {
            case StepKind.Spin:
                if (!await UserWork(step.Ns)) return false;
                EndUserWork();
                return true;
            case StepKind.Rseq:
                task.InRseqCs = true;
                Raise(new RseqCsEntered(Id, Curr));
                if (!await UserWork(step.Ns)) return false;
                EndUserWork();
                return true;
            case StepKind.WriteCode:
                Raise(new CodeWritten(Id, Curr, CurrentMm));
                return await UserStep();
            case StepKind.Store:
            case StepKind.Load:
                RaiseAccess(step);
                return await UserStep();
            default:
                Invariant.Assert(step.IsSyscall, $"a user task cannot take a {step.Kind} step");
                EnterKernel(EntryReason.Syscall);
                await KernelStep();
                return await Syscall(step);
        }
    }

    /// <summary>The user work of a Spin or Rseq step is done: an rseq critical section that was not aborted commits.</summary>
    private void EndUserWork()
    {
        TaskRuntime task = Current;
        if (task.Current.Kind == StepKind.Rseq && task.InRseqCs)
        {
            task.InRseqCs = false;
            Raise(new RseqCsCommitted(Id, Curr));
        }
    }

    /// <summary>A litmus store or load of user memory by the current task (or, for a kthread, copy_to/from_user on its used mm).</summary>
    private void RaiseAccess(Step step)
    {
        if (step.Kind == StepKind.Store) Raise(new UserStored(Id, Curr, step.Target, step.Cmd));
        else Raise(new UserLoaded(Id, Curr, step.Target, step.Cmd));
    }

    /// <summary>
    /// do_syscall_64(): the syscall's kernel path, then <see cref="SyscallExitToUserMode"/>. True
    /// when the task is back in user mode with its next step due; false when it left the CPU.
    /// </summary>
    private async KernelPath<bool> Syscall(Step step)
    {
        IpiRegistration(true);
        TaskRuntime task = Current;
        switch (step.Kind)
        {
            case StepKind.Sleep:
                task.Resume = ResumeKind.ReturnFromSyscall;
                await SleepFor(step.Ns);
                return false;
            case StepKind.Yield:
                task.Resume = ResumeKind.ReturnFromSyscall;
                if (await Schedule(PrevState.Runnable)) return false;
                break;
            case StepKind.Membarrier:
                await Membarrier(step);
                break;
            case StepKind.Mprotect:
            case StepKind.Munmap:
                await FlushTlbMmRange(CurrentMm, freedTables: step.Kind == StepKind.Munmap);
                break;
            case StepKind.Fork:
                await Fork(step);
                break;
            case StepKind.Exec:
                await ExecMmap();
                break;
            case StepKind.ArchPrctl:
                await ArchPrctl(step);
                break;
            case StepKind.TaggedSyscall:
                UntagUserPointer();
                break;
            case StepKind.Clone:
                await Clone(step);
                break;
            case StepKind.TextPoke:
                await TextPokeBatch(step.Target);
                break;
            case StepKind.TextExec:
                await TextExec(step.Target, TextContext.Syscall);
                return await SyscallExitToUserMode();
            case StepKind.Exit:
                await DoExit();
                return false;
            default:
                Invariant.Assert(false, $"{step.Kind} is not a syscall");
                break;
        }
        await KernelStep();
        return await SyscallExitToUserMode();
    }

    /// <summary>
    /// syscall_exit_to_user_mode(): schedule() if the tick asked and there is a reason to leave,
    /// else SYSRET (IRET on x86's slow path). True when the task is back in user mode with its
    /// next step due; false when it left the CPU or an interrupt came first.
    /// </summary>
    private async KernelPath<bool> SyscallExitToUserMode()
    {
        if (_needResched && WantsSchedule)
        {
            Current.Resume = ResumeKind.ReturnFromSyscall;
            if (await Schedule(PrevState.Runnable)) return false;
        }
        bool forcedIret = _arch.HasSysret && Random.Chance(Kernel.Config.Timing.IretOnSyscallReturn);
        ReturnToUser(_arch.PathFor(viaSyscall: true, forcedIret));
        return await UserStep();
    }

    /// <summary>Blocks the current task; it wakes on its CPU (or a random one) after <paramref name="ns"/>. The switch away follows.</summary>
    private KernelPath<bool> SleepFor(long ns)
    {
        int task = Curr;
        TellAfter(ns, Kernel.RqRefs[Kernel.WakeTargetCpu(task, Random)], new TaskWakeup(task));
        return Schedule(PrevState.Sleeping);
    }
}
