using Twin.Actors;
using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// A kernel thread's work loop (kthread() in kernel/kthread.c running its threadfn, an io_uring or
// vhost worker): work items in kernel mode, sleeps, kthread_use_mm()/kthread_unuse_mm() of a
// process's mm, patchable text. It never enters user mode; between work items it reports a
// quiescent state and reschedules if the tick asked (cond_resched()).
public sealed partial class CpuActor
{
    /// <summary>A kernel thread switched in: a kernel step, then its next work items.</summary>
    private async KernelPath KthreadResume()
    {
        await KernelStep();
        while (await NextKthreadStep())
        {
        }
    }

    /// <summary>The kernel thread's next work item; false once it left the CPU.</summary>
    private async KernelPath<bool> NextKthreadStep()
    {
        TaskRuntime task = Current;
        task.Resume = ResumeKind.KernelContinue;
        QuiescentStates++; // cond_resched(): a kthread reports a quiescent state between work items
        if (_needResched && WantsSchedule && await Schedule(PrevState.Runnable)) return false;
        if (!task.Program.TryNext(task, Kernel, Random, out Step step))
        {
            task.Parked = true;
            await Schedule(PrevState.Sleeping);
            return false;
        }
        task.Current = step;
        switch (step.Kind)
        {
            case StepKind.Spin:
                await KthreadWork(step.Ns);
                return true;
            case StepKind.Sleep:
                await SleepFor(step.Ns);
                return false;
            case StepKind.Yield:
                if (await Schedule(PrevState.Runnable)) return false;
                break;
            case StepKind.UseMm:
                int target = Kernel.MmOfProcess(step.Target);
                if (target != KernelIds.None && CurrentMm == KernelIds.None) await KthreadUseMm(target);
                break;
            case StepKind.UnuseMm:
                if (CurrentMm != KernelIds.None) await KthreadUnuseMm();
                break;
            case StepKind.TextPoke:
                await TextPokeBatch(step.Target);
                break;
            case StepKind.TextExec:
                await TextExec(step.Target, TextContext.Kthread);
                return true;
            case StepKind.Store:
            case StepKind.Load:
                // copy_to_user()/copy_from_user() on the used mm; without one (use_mm was skipped) there is nothing to touch.
                if (CurrentMm != KernelIds.None) RaiseAccess(step);
                break;
            default:
                Invariant.Assert(false, $"a kernel thread cannot take a {step.Kind} step");
                break;
        }
        await KernelStep();
        return true;
    }

    /// <summary>A work item of <paramref name="ns"/>; on a used mm, its start and end are journaled.</summary>
    private async KernelPath KthreadWork(long ns)
    {
        int mm = CurrentMm;
        if (mm != KernelIds.None) Raise(new KthreadWorkBegan(Id, Curr, mm));
        _workUntilNs = NowNs + ns;
        await Delay(ns);
        mm = CurrentMm;
        if (mm != KernelIds.None) Raise(new KthreadWorkEnded(Id, Curr, mm));
    }
}
