using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Sites;
using Twin.Kernel.Faults;
using Twin.Kernel.Machine;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// sys_membarrier() (kernel/sched/membarrier.c; kernel-model §3.2–3.5): the error order, the
// expedited paths with their entry (a) and exit (c) barriers around the rq->curr sampling (b) and
// the IPIs, registration with sync_runqueues_membarrier_state(), GLOBAL as a grace period. The
// mm's membarrier_state and the runqueue copies belong to the mm and runqueue actors: each write
// is a store this CPU waits for; membarrier_ipi_mutex is the machine's.
public sealed partial class CpuActor
{
    private SyscallRecord? _mbRecord;
    private int _mbMm;
    private IpiKind _mbKind;
    private int _mbFlag;
    private int _mbCpuId;
    private bool _mbGlobal;
    private int _regReady;
    private CpuPhase _afterGracePeriod;
    private CpuPhase _afterLock;
    private long[]? _gracePeriodStart;

    private const int FlagSyncCore = 1;
    private const int FlagRseq = 2;

    private void MembarrierSyscall(Step step)
    {
        int mm = CurrentMm;
        _mbRecord = null;
        if (Kernel.RecordSyscalls)
        {
            _mbRecord = new SyscallRecord(Current.Name, step.Index, step.Cmd, step.Flags, step.CpuId);
            Kernel.Syscalls.Add(_mbRecord);
        }
        Raise(new MembarrierEntered(Id, Curr, mm, step.Cmd, step.Flags, step.CpuId));
        HotplugOn(HotplugTrigger.Membarrier);
        int cmd = step.Cmd;
        // Flags are checked before the command: QUERY with flags=1 is EINVAL.
        bool flagsOk = cmd == MembarrierCmd.PrivateExpeditedRseq ? step.Flags is 0 or MembarrierCmd.FlagCpu : step.Flags == 0;
        if (!flagsOk)
        {
            MembarrierReturn(-Errno.EINVAL);
            return;
        }
        int cpuId = (step.Flags & MembarrierCmd.FlagCpu) != 0 ? step.CpuId : -1;
        _mbMm = mm;
        int state = Kernel.Mm(mm).State.MembarrierState;
        switch (cmd)
        {
            case MembarrierCmd.Query:
                MembarrierReturn(Kernel.Config.NohzFull ? MembarrierCmd.AllSupported & ~MembarrierCmd.Global : MembarrierCmd.AllSupported);
                break;
            case MembarrierCmd.Global:
                if (Kernel.Config.NohzFull) MembarrierReturn(-Errno.EINVAL);
                else if (Kernel.Config.Cpus > 1) StartGracePeriod(CpuPhase.GlobalDone);
                else MembarrierReturn(0);
                break;
            case MembarrierCmd.GlobalExpedited:
                if (Kernel.Config.Cpus == 1)
                {
                    MembarrierReturn(0);
                    break;
                }
                _mbGlobal = true;
                _mbKind = IpiKind.Mb;
                _mbCpuId = -1;
                _mbFlag = 0;
                ContinueAfter(StepNs(), CpuPhase.MbBarrierA);
                break;
            case MembarrierCmd.RegisterGlobalExpedited:
                if ((state & MembarrierState.GlobalExpeditedReady) != 0)
                {
                    MembarrierReturn(0);
                    break;
                }
                Register(MembarrierState.GlobalExpedited, MembarrierState.GlobalExpeditedReady);
                break;
            case MembarrierCmd.PrivateExpedited:
                PrivateExpedited(0, cpuId, state);
                break;
            case MembarrierCmd.PrivateExpeditedSyncCore:
                PrivateExpedited(FlagSyncCore, cpuId, state);
                break;
            case MembarrierCmd.PrivateExpeditedRseq:
                PrivateExpedited(FlagRseq, cpuId, state);
                break;
            case MembarrierCmd.RegisterPrivateExpedited:
                RegisterPrivateExpedited(0, state);
                break;
            case MembarrierCmd.RegisterPrivateExpeditedSyncCore:
                RegisterPrivateExpedited(FlagSyncCore, state);
                break;
            case MembarrierCmd.RegisterPrivateExpeditedRseq:
                RegisterPrivateExpedited(FlagRseq, state);
                break;
            case MembarrierCmd.GetRegistrations:
                MembarrierReturn(GetRegistrations(state));
                break;
            default:
                MembarrierReturn(-Errno.EINVAL);
                break;
        }
    }

    /// <summary>membarrier_private_expedited(flags, cpu_id) up to the entry barrier.</summary>
    private void PrivateExpedited(int flag, int cpuId, int state)
    {
        _mbFlag = flag;
        _mbCpuId = cpuId;
        _mbGlobal = false;
        if (flag == FlagSyncCore)
        {
            if ((state & MembarrierState.SyncCoreReady) == 0)
            {
                MembarrierReturn(-Errno.EPERM);
                return;
            }
            // B5: before ipi_sync_core existed, SYNC_CORE sent ipi_mb and relied on the IPI's IRET.
            _mbKind = Kernel.Config.Has(BugSet.B5) ? IpiKind.Mb : IpiKind.SyncCore;
            if (_arch.IcacheStaleMask)
            {
                // prepare_sync_core_cmd(): every CPU's icache is stale for this mm from here on.
                Store(Kernel.MmRef(_mbMm), new MmWrite(NextToken(), MmOp.IcacheStaleSetAll), CpuPhase.MbPrepared);
                return;
            }
        }
        else if (flag == FlagRseq)
        {
            if ((state & MembarrierState.RseqReady) == 0)
            {
                MembarrierReturn(-Errno.EPERM);
                return;
            }
            _mbKind = IpiKind.Rseq;
        }
        else
        {
            if ((state & MembarrierState.PrivateExpeditedReady) == 0)
            {
                MembarrierReturn(-Errno.EPERM);
                return;
            }
            _mbKind = IpiKind.Mb;
        }
        PrivateExpeditedGo();
    }

    /// <summary>The shortcut (no other user of the mm, or one CPU; not for SYNC_CORE, whose caller's core must be synced), else the entry barrier.</summary>
    private void PrivateExpeditedGo()
    {
        if (_mbFlag != FlagSyncCore && (Kernel.Mm(_mbMm).State.Users == 1 || Kernel.Config.Cpus == 1))
        {
            MembarrierReturn(0);
            return;
        }
        ContinueAfter(StepNs(), CpuPhase.MbBarrierA);
    }

    /// <summary>(a): "system call entry is not a mb"; matches the barriers after rq->curr changes in the scheduler.</summary>
    private void MembarrierEntryBarrier()
    {
        Barrier(OrderingSite.MembarrierEntry);
        ContinueAfter(StepNs(), CpuPhase.MbIpis);
    }

    /// <summary>SERIALIZE_IPI() locked: (b) sample every CPU's rq->curr; send the IPIs with wait=1, then run the caller's own handler.</summary>
    private void MembarrierSendIpis()
    {
        CpuMask targets = _mbGlobal ? SampleGlobalExpedited() : SamplePrivateExpedited(_mbCpuId);
        Raise(new MembarrierSampled(Id, targets));
        BeginWait(CpuPhase.MbWait);
        bool syncCore = _mbFlag == FlagSyncCore;
        // smp_call_function_many() skips the caller; on_each_cpu_mask() (SYNC_CORE, B6 fix) and
        // smp_call_function_single(cpu_id) run the handler here when the caller is a target, after queuing the others.
        bool includeSelf = _mbCpuId >= 0 || (syncCore && !Kernel.Config.Has(BugSet.B6));
        for (int c = 0; c < Kernel.Config.Cpus; c++)
        {
            if (c != Id && targets.Test(c)) SendIpi(c, _mbKind, _mbMm, 0);
        }
        if (includeSelf && targets.Test(Id)) RunLocalHandler(_mbKind, _mbMm, 0);
        EndSending();
    }

    /// <summary>CPUs whose rq->curr has current->mm == mm (lazy kthreads excluded, kthread_use_mm users included).</summary>
    private CpuMask SamplePrivateExpedited(int cpuId)
    {
        if (cpuId >= 0)
        {
            // An offline or out-of-range cpu_id, or one not running the mm: nothing to do, and 0 returned.
            if (cpuId >= Kernel.Config.Cpus) return CpuMask.Empty;
            return Kernel.Cpus[cpuId].SampleCurrMm(Id, NowNs) == _mbMm ? CpuMask.Empty.With(cpuId) : CpuMask.Empty;
        }
        return CpusRunningMm(_mbMm);
    }

    private CpuMask CpusRunningMm(int mm)
    {
        CpuMask mask = CpuMask.Empty;
        for (int c = 0; c < Kernel.Config.Cpus; c++)
        {
            if (Kernel.Cpus[c].SampleCurrMm(Id, NowNs) == mm) mask = mask.With(c);
        }
        return mask;
    }

    /// <summary>membarrier_global_expedited(): other CPUs with GLOBAL_EXPEDITED in rq->membarrier_state running a user mm.</summary>
    private CpuMask SampleGlobalExpedited()
    {
        CpuMask mask = CpuMask.Empty;
        for (int c = 0; c < Kernel.Config.Cpus; c++)
        {
            if (c == Id) continue;
            if ((Kernel.Cpus[c].SampleRqState(Id, NowNs) & MembarrierState.GlobalExpedited) == 0) continue;
            if (Kernel.Cpus[c].SampleCurrMm(Id, NowNs) == KernelIds.None) continue;
            mask = mask.With(c);
        }
        return mask;
    }

    /// <summary>(c): "exit from system call is not a mb"; matches the barriers before rq->curr changes in the scheduler.</summary>
    private void MembarrierExitBarrier()
    {
        Barrier(OrderingSite.MembarrierExit);
        UnlockIpiMutex();
        MembarrierReturn(0);
    }

    private void RegisterPrivateExpedited(int flag, int state)
    {
        int ready = flag == FlagSyncCore ? MembarrierState.SyncCoreReady
            : flag == FlagRseq ? MembarrierState.RseqReady
            : MembarrierState.PrivateExpeditedReady;
        if ((state & ready) == ready)
        {
            MembarrierReturn(0);
            return;
        }
        int set = MembarrierState.PrivateExpedited
            | (flag == FlagSyncCore ? MembarrierState.SyncCore : 0)
            | (flag == FlagRseq ? MembarrierState.Rseq : 0);
        Register(set, ready);
    }

    /// <summary>atomic_or(set, &amp;mm->membarrier_state), then sync_runqueues_membarrier_state() and, at the end, the ready bits.</summary>
    private void Register(int set, int ready)
    {
        _regReady = ready;
        Store(Kernel.MmRef(_mbMm), new MmWrite(NextToken(), MmOp.OrMembarrierState, Value: set), CpuPhase.RegStateSet);
    }

    /// <summary>sync_runqueues_membarrier_state(): the local shortcut, or synchronize_rcu() then ipi_sync_rq_state.</summary>
    private void SyncRunqueuesMembarrierState()
    {
        AtomicOrDone();
        MmState mm = Kernel.Mm(_mbMm).State;
        if (mm.Users == 1 || Kernel.Config.Cpus == 1)
        {
            Store(RqRef, new RqSetMembarrierState(NextToken(), mm.MembarrierState, RqStateReason.RegisterLocal), CpuPhase.RegLocalSet);
            return;
        }
        StartGracePeriod(CpuPhase.RegIpis);
    }

    private void RegisterLocalSet()
    {
        Barrier(OrderingSite.RegisterSync);
        ContinueAfter(StepNs(), CpuPhase.RegReady);
    }

    /// <summary>SERIALIZE_IPI() locked: ipi_sync_rq_state to every CPU running the mm; the caller's own copy is a store it waits for.</summary>
    private void RegisterSendIpis()
    {
        CpuMask targets = CpusRunningMm(_mbMm);
        Raise(new MembarrierSampled(Id, targets));
        BeginWait(CpuPhase.RegWait);
        for (int c = 0; c < Kernel.Config.Cpus; c++)
        {
            if (c != Id && targets.Test(c)) SendIpi(c, IpiKind.SyncRqState, _mbMm, 0);
        }
        if (targets.Test(Id) && !KernelIds.IsIdle(Curr) && CurrentMm == _mbMm)
        {
            // The handler on the caller: WRITE_ONCE(rq->membarrier_state, ...); smp_mb().
            Store(RqRef, new RqSetMembarrierState(NextToken(), Kernel.Mm(_mbMm).State.MembarrierState, RqStateReason.IpiSyncRqState), CpuPhase.RegLocalHandled);
            return;
        }
        if (targets.Test(Id)) Raise(new IpiHandled(Id, 0, IpiKind.SyncRqState, Id));
        EndSending();
    }

    private void RegisterLocalHandled()
    {
        Barrier(OrderingSite.IpiSyncRqStateBarrier);
        Raise(new IpiHandled(Id, 0, IpiKind.SyncRqState, Id));
        EndSending();
    }

    /// <summary>An atomic_or() of the registration completed: on x86 a LOCK OR, a full barrier in hardware.</summary>
    private void AtomicOrDone()
    {
        if (_arch.IsX86) Barrier(OrderingSite.RegisterAtomicOr);
    }

    private void RegisterDone()
    {
        AtomicOrDone();
        MembarrierReturn(0);
    }

    private void RegisterReady()
    {
        UnlockIpiMutex();
        Store(Kernel.MmRef(_mbMm), new MmWrite(NextToken(), MmOp.OrMembarrierState, Value: _regReady), CpuPhase.RegDone);
    }

    /// <summary>A registration bit reports its REGISTER command when either its state or ready bit is set.</summary>
    private static int GetRegistrations(int state)
    {
        int mask = 0;
        if ((state & (MembarrierState.GlobalExpedited | MembarrierState.GlobalExpeditedReady)) != 0) mask |= MembarrierCmd.RegisterGlobalExpedited;
        if ((state & (MembarrierState.PrivateExpedited | MembarrierState.PrivateExpeditedReady)) != 0) mask |= MembarrierCmd.RegisterPrivateExpedited;
        if ((state & (MembarrierState.SyncCore | MembarrierState.SyncCoreReady)) != 0) mask |= MembarrierCmd.RegisterPrivateExpeditedSyncCore;
        if ((state & (MembarrierState.Rseq | MembarrierState.RseqReady)) != 0) mask |= MembarrierCmd.RegisterPrivateExpeditedRseq;
        return mask;
    }

    private void MembarrierReturn(long ret)
    {
        Raise(new MembarrierExited(Id, Curr, ret));
        if (_mbRecord is not null)
        {
            _mbRecord.Ret = ret;
            _mbRecord.Returned = true;
            _mbRecord = null;
        }
        ContinueAfter(StepNs(), CpuPhase.SyscallExit);
    }

    /// <summary>
    /// SERIALIZE_IPI(): membarrier_ipi_mutex (CVE-2024-26602 fix), the machine's. A CPU that sees it
    /// held spins a step and looks again; one that sees it free tries to take it (a cmpxchg whose
    /// outcome it waits for). <paramref name="phase"/> is the phase that needs the lock.
    /// </summary>
    private void TryLockIpiMutex(CpuPhase phase)
    {
        _afterLock = phase;
        int owner = Kernel.Machine.IpiMutexOwner;
        if (owner >= 0 && owner != Id)
        {
            ContinueAfter(StepNs(), phase);
            return;
        }
        Store(Kernel.MachineRef, new MachineOp(NextToken(), MachineOpKind.TryLockIpiMutex, 0, Id), CpuPhase.MbLockAnswer);
    }

    private void IpiMutexAnswered()
    {
        if (_reply == 0)
        {
            ContinueAfter(StepNs(), _afterLock);
            return;
        }
        if (_afterLock == CpuPhase.MbIpis) MembarrierSendIpis();
        else RegisterSendIpis();
    }

    /// <summary>mutex_unlock(): a posted store; whoever waits sees it at its next look.</summary>
    private void UnlockIpiMutex()
    {
        if (Kernel.Machine.IpiMutexOwner == Id) Kernel.MachineRef.Tell(new MachineOp(0, MachineOpKind.UnlockIpiMutex, 0, Id), Self);
    }

    /// <summary>synchronize_rcu(): wait until every other CPU passed a quiescent state (a switch, user mode, idle).</summary>
    private void StartGracePeriod(CpuPhase after)
    {
        _gracePeriodStart ??= new long[Kernel.Config.Cpus];
        for (int c = 0; c < _gracePeriodStart.Length; c++) _gracePeriodStart[c] = Kernel.Cpus[c].QuiescentStates;
        _afterGracePeriod = after;
        ContinueAfter(Kernel.Config.Timing.RcuPollNs, CpuPhase.RcuWait);
    }

    private void PollGracePeriod()
    {
        for (int c = 0; c < Kernel.Config.Cpus; c++)
        {
            if (c == Id) continue;
            CpuActor other = Kernel.Cpus[c];
            bool quiescent = other.QuiescentStates != _gracePeriodStart![c]
                || other.Mode is CpuMode.User or CpuMode.Idle || other.InRcuWait;
            if (!quiescent)
            {
                ContinueAfter(Kernel.Config.Timing.RcuPollNs, CpuPhase.RcuWait);
                return;
            }
        }
        ContinueAfter(StepNs(), _afterGracePeriod);
    }
}
