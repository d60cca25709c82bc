using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Machine;
using Twin.Kernel.Mm;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Sites;

namespace Twin.Kernel.Cpu;

// fs/exec.c: exec_mmap() with membarrier_exec_mmap() (kernel/sched/membarrier.c) and
// activate_mm() (kernel-model §2.5).
public sealed partial class CpuActor
{
    /// <summary>
    /// exec_mmap(): a fresh mm (mm_alloc(), the machine's), membarrier_exec_mmap(),
    /// <c>tsk->mm = mm</c>, activate_mm() with interrupts off, then mmput(old_mm).
    /// </summary>
    private async KernelPath ExecMmap()
    {
        int oldMm = CurrentMm;
        // de_thread() of the other threads is not modelled; the random workload execs only single-threaded processes.
        if (Mm(oldMm).Users != 1) return;
        int mm = (int)await Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.NewMm, Curr, Machine.Task(Curr).Tgid));
        await MembarrierExecMmap(mm);
        await Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.SetTaskMm, Curr, mm, MmChangeReason.Exec));
        CurrMmStored(mm);
        IrqsOff();
        await SwitchMmIrqsOff(mm);
        IrqsOn();
        await Store(MmRef(oldMm), new MmWrite(NextToken(), MmOp.UsersChanged, Value: -1));
    }

    /// <summary>
    /// membarrier_exec_mmap(): <c>smp_mb()</c> "to guarantee that no memory access prior to exec is
    /// reordered after clearing this state", then the mm's and the runqueue's state to 0.
    /// </summary>
    private async KernelPath MembarrierExecMmap(int mm)
    {
        Barrier(OrderingSite.ExecMmap);
        await Store(MmRef(mm), new MmWrite(NextToken(), MmOp.SetMembarrierState, Value: 0));
        await Store(RqRef, new RqSetMembarrierState(NextToken(), 0, RqStateReason.ExecMmap));
    }
}
