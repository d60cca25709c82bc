using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Machine;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;
using Twin.Kernel.Sites;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// kernel/sched/membarrier.c (kernel-model §3.2–3.5): the syscall with its error order, and the
// expedited commands: the entry (a) and exit (c) barriers around the sample of every CPU's
// rq->curr (b) and the IPIs, under membarrier_ipi_mutex (SERIALIZE_IPI). The mm's
// membarrier_state belongs to the mm actor, the mutex to the machine: stores this CPU waits for.
public sealed partial class CpuActor
{
    /// <summary>MEMBARRIER_FLAG_SYNC_CORE.</summary>
    private const int FlagSyncCore = 1;

    /// <summary>MEMBARRIER_FLAG_RSEQ.</summary>
    private const int FlagRseq = 2;

    /// <summary>SYSCALL_DEFINE3(membarrier, cmd, flags, cpu_id): the command's value is the syscall's return.</summary>
    private async KernelPath Membarrier(Step step)
    {
        int mm = CurrentMm;
        SyscallRecord? record = null;
        if (Kernel.RecordSyscalls)
        {
            record = new SyscallRecord(Current.Name, step.Index, step.Cmd, step.Flags, step.CpuId);
            Kernel.Syscalls.Add(record);
        }
        Raise(new MembarrierEntered(Id, Curr, mm, step.Cmd, step.Flags, step.CpuId));
        HotplugOn(HotplugTrigger.Membarrier);
        long ret = await MembarrierCommand(step, mm);
        Raise(new MembarrierExited(Id, Curr, ret));
        if (record is not null)
        {
            record.Ret = ret;
            record.Returned = true;
        }
    }

    /// <summary>The flags first (QUERY with flags=1 is EINVAL; FLAG_CPU only for RSEQ), then the command.</summary>
    private async KernelPath<long> MembarrierCommand(Step step, int mm)
    {
        int cmd = step.Cmd;
        bool flagsOk = cmd == MembarrierCmd.PrivateExpeditedRseq ? step.Flags is 0 or MembarrierCmd.FlagCpu : step.Flags == 0;
        if (!flagsOk) return -Errno.EINVAL;
        int cpuId = (step.Flags & MembarrierCmd.FlagCpu) != 0 ? step.CpuId : -1;
        int state = Mm(mm).MembarrierState;
        switch (cmd)
        {
            case MembarrierCmd.Query:
                return Kernel.Config.NohzFull ? MembarrierCmd.AllSupported & ~MembarrierCmd.Global : MembarrierCmd.AllSupported;
            case MembarrierCmd.Global:
                if (Kernel.Config.NohzFull) return -Errno.EINVAL;
                if (Cpus > 1) await SynchronizeRcu();
                return 0;
            case MembarrierCmd.GlobalExpedited:
                if (Cpus == 1) return 0;
                return await MembarrierExpedited(IpiKind.Mb, mm, cpuId: -1, syncCore: false, global: true);
            case MembarrierCmd.RegisterGlobalExpedited:
                if ((state & MembarrierState.GlobalExpeditedReady) != 0) return 0;
                return await MembarrierRegister(mm, MembarrierState.GlobalExpedited, MembarrierState.GlobalExpeditedReady);
            case MembarrierCmd.PrivateExpedited:
                return await MembarrierPrivateExpedited(0, cpuId, state, mm);
            case MembarrierCmd.PrivateExpeditedSyncCore:
                return await MembarrierPrivateExpedited(FlagSyncCore, cpuId, state, mm);
            case MembarrierCmd.PrivateExpeditedRseq:
                return await MembarrierPrivateExpedited(FlagRseq, cpuId, state, mm);
            case MembarrierCmd.RegisterPrivateExpedited:
                return await MembarrierRegisterPrivateExpedited(0, state, mm);
            case MembarrierCmd.RegisterPrivateExpeditedSyncCore:
                return await MembarrierRegisterPrivateExpedited(FlagSyncCore, state, mm);
            case MembarrierCmd.RegisterPrivateExpeditedRseq:
                return await MembarrierRegisterPrivateExpedited(FlagRseq, state, mm);
            case MembarrierCmd.GetRegistrations:
                return MembarrierGetRegistrations(state);
            default:
                return -Errno.EINVAL;
        }
    }

    /// <summary>
    /// membarrier_private_expedited(flags, cpu_id): EPERM unless the mm registered the command;
    /// SYNC_CORE's prepare_sync_core_cmd() (riscv); the shortcut for an mm with one user or a
    /// machine with one CPU (not for SYNC_CORE, whose caller's core must be synced); then (a)–(c).
    /// </summary>
    private async KernelPath<long> MembarrierPrivateExpedited(int flags, int cpuId, int state, int mm)
    {
        IpiKind kind;
        if (flags == FlagSyncCore)
        {
            if ((state & MembarrierState.SyncCoreReady) == 0) return -Errno.EPERM;
            // B5: before ipi_sync_core existed, SYNC_CORE sent ipi_mb and relied on the IPI's IRET.
            kind = Kernel.Config.Has(BugSet.B5) ? IpiKind.Mb : IpiKind.SyncCore;
            // prepare_sync_core_cmd(): every CPU's icache is stale for this mm from here on.
            if (_arch.IcacheStaleMask) await Store(MmRef(mm), new MmWrite(NextToken(), MmOp.IcacheStaleSetAll));
        }
        else if (flags == FlagRseq)
        {
            if ((state & MembarrierState.RseqReady) == 0) return -Errno.EPERM;
            kind = IpiKind.Rseq;
        }
        else
        {
            if ((state & MembarrierState.PrivateExpeditedReady) == 0) return -Errno.EPERM;
            kind = IpiKind.Mb;
        }
        if (flags != FlagSyncCore && (Mm(mm).Users == 1 || Cpus == 1)) return 0;
        return await MembarrierExpedited(kind, mm, cpuId, syncCore: flags == FlagSyncCore, global: false);
    }

    /// <summary>
    /// The expedited commands from the entry barrier on: (a) <c>smp_mb()</c> "system call entry is
    /// not a mb"; SERIALIZE_IPI(); (b) the sample of rq->curr and the IPIs with wait=1
    /// (smp_call_function_many() skips the caller; on_each_cpu_mask() for SYNC_CORE and
    /// smp_call_function_single(cpu_id) run the handler here when the caller is a target); (c)
    /// <c>smp_mb()</c> "exit from system call is not a mb".
    /// </summary>
    private async KernelPath<long> MembarrierExpedited(IpiKind kind, int mm, int cpuId, bool syncCore, bool global)
    {
        await KernelStep();
        Barrier(OrderingSite.MembarrierEntry);
        await KernelStep();
        await LockIpiMutex();
        CpuMask targets = global ? SampleGlobalExpedited() : SamplePrivateExpedited(mm, cpuId);
        Raise(new MembarrierSampled(Id, targets));
        BeginWait();
        bool includeSelf = cpuId >= 0 || (syncCore && !Kernel.Config.Has(BugSet.B6));
        for (int c = 0; c < Cpus; c++)
        {
            if (c != Id && targets.Test(c)) SendIpi(c, kind, mm, 0);
        }
        if (includeSelf && targets.Test(Id)) RunLocalHandler(kind, mm, 0);
        await CsdLockWait();
        await KernelStep();
        Barrier(OrderingSite.MembarrierExit);
        UnlockIpiMutex();
        return 0;
    }

    /// <summary>CPUs whose rq->curr has current->mm == mm (lazy kthreads excluded, kthread_use_mm users included); FLAG_CPU samples one.</summary>
    private CpuMask SamplePrivateExpedited(int mm, int cpuId)
    {
        if (cpuId < 0) return CpusRunningMm(mm);
        // An offline or out-of-range cpu_id, or one not running the mm: nothing to do, and 0 returned.
        if (cpuId >= Cpus) return CpuMask.Empty;
        return Cpu(cpuId).CurrMm(Id, NowNs) == mm ? CpuMask.Empty.With(cpuId) : CpuMask.Empty;
    }

    private CpuMask CpusRunningMm(int mm)
    {
        CpuMask mask = CpuMask.Empty;
        for (int c = 0; c < Cpus; c++)
        {
            if (Cpu(c).CurrMm(Id, NowNs) == mm) mask = mask.With(c);
        }
        return mask;
    }

    /// <summary>membarrier_global_expedited(): other CPUs with GLOBAL_EXPEDITED in rq->membarrier_state running a user mm.</summary>
    private CpuMask SampleGlobalExpedited()
    {
        CpuMask mask = CpuMask.Empty;
        for (int c = 0; c < Cpus; c++)
        {
            if (c == Id) continue;
            if ((Cpu(c).RqMembarrierState(Id, NowNs) & MembarrierState.GlobalExpedited) == 0) continue;
            if (Cpu(c).CurrMm(Id, NowNs) == KernelIds.None) continue;
            mask = mask.With(c);
        }
        return mask;
    }

    /// <summary>
    /// SERIALIZE_IPI(): <c>guard(mutex)(&amp;membarrier_ipi_mutex)</c> (the CVE-2024-26602 fix), the
    /// machine's. A CPU that sees it held spins a kernel step and looks again; one that sees it
    /// free tries to take it (a cmpxchg whose outcome it waits for).
    /// </summary>
    private async KernelPath LockIpiMutex()
    {
        while (true)
        {
            int owner = Machine.IpiMutexOwner;
            if (owner < 0 || owner == Id)
            {
                long taken = await Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.TryLockIpiMutex, 0, Id));
                if (taken != 0) return;
            }
            await KernelStep();
        }
    }

    /// <summary>mutex_unlock(): a posted store; whoever waits sees it at its next look.</summary>
    private void UnlockIpiMutex()
    {
        if (Machine.IpiMutexOwner == Id) Kernel.MachineRef.Tell(new MachineOp(0, MachineOpKind.UnlockIpiMutex, 0, Id), Self);
    }
}
