using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Sites;

namespace Twin.Kernel.Cpu;

// kernel/sched/membarrier.c: registration (membarrier_register_private_expedited(),
// membarrier_register_global_expedited()) with sync_runqueues_membarrier_state(); GLOBAL's
// synchronize_rcu() (kernel/rcu/tree.c); MEMBARRIER_CMD_GET_REGISTRATIONS.
public sealed partial class CpuActor
{
    /// <summary>Scratch for synchronize_rcu(): each CPU's quiescent-state count when the grace period began.</summary>
    private long[]? _gracePeriodStart;

    /// <summary>membarrier_register_private_expedited(flags): nothing to do once ready; else the state bits, then ready.</summary>
    private async KernelPath<long> MembarrierRegisterPrivateExpedited(int flags, int state, int mm)
    {
        int ready = flags == FlagSyncCore ? MembarrierState.SyncCoreReady
            : flags == FlagRseq ? MembarrierState.RseqReady
            : MembarrierState.PrivateExpeditedReady;
        if ((state & ready) == ready) return 0;
        int set = MembarrierState.PrivateExpedited
            | (flags == FlagSyncCore ? MembarrierState.SyncCore : 0)
            | (flags == FlagRseq ? MembarrierState.Rseq : 0);
        return await MembarrierRegister(mm, set, ready);
    }

    /// <summary>
    /// The registration both commands share: <c>atomic_or(set, &amp;mm->membarrier_state)</c>,
    /// sync_runqueues_membarrier_state(), then <c>atomic_or(ready, ...)</c>. On x86 each atomic_or
    /// is a LOCK OR, a full barrier in hardware.
    /// </summary>
    private async KernelPath<long> MembarrierRegister(int mm, int set, int ready)
    {
        await Store(MmRef(mm), new MmWrite(NextToken(), MmOp.OrMembarrierState, Value: set));
        AtomicOrDone();
        await SyncRunqueuesMembarrierState(mm);
        UnlockIpiMutex();
        await Store(MmRef(mm), new MmWrite(NextToken(), MmOp.OrMembarrierState, Value: ready));
        AtomicOrDone();
        return 0;
    }

    private void AtomicOrDone()
    {
        if (_arch.IsX86) Barrier(OrderingSite.RegisterAtomicOr);
    }

    /// <summary>
    /// sync_runqueues_membarrier_state(mm): with one user (or one CPU) this CPU's copy and
    /// <c>smp_mb()</c>; else synchronize_rcu(), then under SERIALIZE_IPI() ipi_sync_rq_state on
    /// every CPU running the mm (the caller's own copy a store it waits for) with wait=1.
    /// </summary>
    private async KernelPath SyncRunqueuesMembarrierState(int mm)
    {
        MmView m = Mm(mm);
        if (m.Users == 1 || Cpus == 1)
        {
            await Store(RqRef, new RqSetMembarrierState(NextToken(), m.MembarrierState, RqStateReason.RegisterLocal));
            Barrier(OrderingSite.RegisterSync);
            await KernelStep();
            return;
        }
        await SynchronizeRcu();
        await LockIpiMutex();
        CpuMask targets = CpusRunningMm(mm);
        Raise(new MembarrierSampled(Id, targets));
        BeginWait();
        for (int c = 0; c < Cpus; c++)
        {
            if (c != Id && targets.Test(c)) SendIpi(c, IpiKind.SyncRqState, mm, 0);
        }
        if (targets.Test(Id) && !KernelIds.IsIdle(Curr) && CurrentMm == mm)
        {
            // The handler on the caller: WRITE_ONCE(rq->membarrier_state, ...); smp_mb().
            await Store(RqRef, new RqSetMembarrierState(NextToken(), Mm(mm).MembarrierState, RqStateReason.IpiSyncRqState));
            Barrier(OrderingSite.IpiSyncRqStateBarrier);
            Raise(new IpiHandled(Id, 0, IpiKind.SyncRqState, Id));
        }
        else if (targets.Test(Id))
        {
            Raise(new IpiHandled(Id, 0, IpiKind.SyncRqState, Id));
        }
        await CsdLockWait();
        await KernelStep();
    }

    /// <summary>synchronize_rcu(): wait until every other CPU passed a quiescent state (a switch, user mode, idle, or its own synchronize_rcu()).</summary>
    private async KernelPath SynchronizeRcu()
    {
        _gracePeriodStart ??= new long[Cpus];
        for (int c = 0; c < _gracePeriodStart.Length; c++) _gracePeriodStart[c] = Cpu(c).QuiescentStates;
        do
        {
            await RcuPoll();
        }
        while (!GracePeriodOver());
        await KernelStep();
    }

    private bool GracePeriodOver()
    {
        for (int c = 0; c < Cpus; c++)
        {
            if (c == Id) continue;
            CpuView other = Cpu(c);
            bool quiescent = other.QuiescentStates != _gracePeriodStart![c]
                || other.Mode is CpuMode.User or CpuMode.Idle || other.InRcuWait;
            if (!quiescent) return false;
        }
        return true;
    }

    /// <summary>membarrier_get_registrations(): a REGISTER command is reported when either its state or its ready bit is set.</summary>
    private static int MembarrierGetRegistrations(int state)
    {
        int mask = 0;
        if ((state & (MembarrierState.GlobalExpedited | MembarrierState.GlobalExpeditedReady)) != 0) mask |= MembarrierCmd.RegisterGlobalExpedited;
        if ((state & (MembarrierState.PrivateExpedited | MembarrierState.PrivateExpeditedReady)) != 0) mask |= MembarrierCmd.RegisterPrivateExpedited;
        if ((state & (MembarrierState.SyncCore | MembarrierState.SyncCoreReady)) != 0) mask |= MembarrierCmd.RegisterPrivateExpeditedSyncCore;
        if ((state & (MembarrierState.Rseq | MembarrierState.RseqReady)) != 0) mask |= MembarrierCmd.RegisterPrivateExpeditedRseq;
        return mask;
    }
}
