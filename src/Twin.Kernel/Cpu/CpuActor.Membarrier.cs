using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// sys_membarrier() (kernel/sched/membarrier.c; kernel-model §3.2–3.5): the error order, the
// expedited paths with their entry (a) and exit (c) barriers around the rq->curr sampling (b) and
// the IPIs, registration with sync_runqueues_membarrier_state(), GLOBAL as a grace period.
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
    private long[]? _gracePeriodStart;

    private const int FlagSyncCore = 1;
    private const int FlagRseq = 2;

    private void MembarrierSyscall(Step step)
    {
        int mm = CurrentMm;
        _mbRecord = null;
        if (_kernel.RecordSyscalls)
        {
            _mbRecord = new SyscallRecord(Current.Name, step.Index, step.Cmd, step.Flags, step.CpuId);
            _kernel.Syscalls.Add(_mbRecord);
        }
        Persist(new MembarrierEntered(Id, State.Curr, mm, step.Cmd, step.Flags, step.CpuId));
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
        int state = _kernel.Mm(mm).State.MembarrierState;
        switch (cmd)
        {
            case MembarrierCmd.Query:
                MembarrierReturn(_kernel.Config.NohzFull ? MembarrierCmd.AllSupported & ~MembarrierCmd.Global : MembarrierCmd.AllSupported);
                break;
            case MembarrierCmd.Global:
                if (_kernel.Config.NohzFull) MembarrierReturn(-Errno.EINVAL);
                else if (_kernel.Config.Cpus > 1) StartGracePeriod(CpuPhase.GlobalDone);
                else MembarrierReturn(0);
                break;
            case MembarrierCmd.GlobalExpedited:
                if (_kernel.Config.Cpus == 1)
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
                _kernel.Mm(mm).SetMembarrierState(MembarrierState.GlobalExpedited);
                _regReady = MembarrierState.GlobalExpeditedReady;
                SyncRunqueuesMembarrierState();
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
        MmActor mm = _kernel.Mm(_mbMm);
        if (flag == FlagSyncCore)
        {
            if ((state & MembarrierState.SyncCoreReady) == 0)
            {
                MembarrierReturn(-Errno.EPERM);
                return;
            }
            // B5: before ipi_sync_core existed, SYNC_CORE sent ipi_mb and relied on the IPI's IRET.
            _mbKind = _kernel.Config.Has(BugSet.B5) ? IpiKind.Mb : IpiKind.SyncCore;
            if (_arch.IcacheStaleMask) mm.SetIcacheStaleMask(); // prepare_sync_core_cmd()
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
        // The shortcut: no other user of the mm, or one CPU. Not for SYNC_CORE (the caller's own
        // core must be synced).
        if (flag != FlagSyncCore && (mm.State.Users == 1 || _kernel.Config.Cpus == 1))
        {
            MembarrierReturn(0);
            return;
        }
        _mbGlobal = false;
        _mbFlag = flag;
        _mbCpuId = cpuId;
        ContinueAfter(StepNs(), CpuPhase.MbBarrierA);
    }

    /// <summary>(a): "system call entry is not a mb"; matches the barriers after rq->curr changes in the scheduler.</summary>
    private void MembarrierEntryBarrier()
    {
        Barrier(BarrierReason.MembarrierEntry);
        ContinueAfter(StepNs(), CpuPhase.MbIpis);
    }

    /// <summary>SERIALIZE_IPI(); (b) sample every CPU's rq->curr; send the IPIs with wait=1.</summary>
    private void MembarrierSendIpis()
    {
        if (!TryLockIpiMutex()) return;
        CpuMask targets = _mbGlobal ? SampleGlobalExpedited() : SamplePrivateExpedited(_mbCpuId);
        Persist(new MembarrierSampled(Id, targets));
        BeginWait(CpuPhase.MbWait);
        bool syncCore = _mbFlag == FlagSyncCore;
        bool includeSelf = _mbCpuId >= 0 || (syncCore && !_kernel.Config.Has(BugSet.B6));
        for (int c = 0; c < _kernel.Config.Cpus; c++)
        {
            if (!targets.Test(c)) continue;
            // smp_call_function_many() skips the caller; on_each_cpu_mask() (SYNC_CORE, B6 fix) and
            // smp_call_function_single(cpu_id) run the handler here when the caller is a target.
            if (c == Id)
            {
                if (includeSelf) RunLocalHandler(_mbKind, _mbMm, 0);
            }
            else
            {
                SendIpi(c, _mbKind, _mbMm, 0);
            }
        }
        EndSending();
    }

    /// <summary>CPUs whose rq->curr has current->mm == mm (lazy kthreads excluded, kthread_use_mm users included).</summary>
    private CpuMask SamplePrivateExpedited(int cpuId)
    {
        if (cpuId >= 0)
        {
            // An offline or out-of-range cpu_id, or one not running the mm: nothing to do, and 0 returned.
            if (cpuId >= _kernel.Config.Cpus) return CpuMask.Empty;
            return _kernel.Cpus[cpuId].SampleCurrMm(Id, Context.NowNs) == _mbMm ? CpuMask.Empty.With(cpuId) : CpuMask.Empty;
        }
        return CpusRunningMm(_mbMm);
    }

    private CpuMask CpusRunningMm(int mm)
    {
        CpuMask mask = CpuMask.Empty;
        for (int c = 0; c < _kernel.Config.Cpus; c++)
        {
            if (_kernel.Cpus[c].SampleCurrMm(Id, Context.NowNs) == mm) mask = mask.With(c);
        }
        return mask;
    }

    /// <summary>membarrier_global_expedited(): other CPUs with GLOBAL_EXPEDITED in rq->membarrier_state running a user mm.</summary>
    private CpuMask SampleGlobalExpedited()
    {
        CpuMask mask = CpuMask.Empty;
        for (int c = 0; c < _kernel.Config.Cpus; c++)
        {
            if (c == Id) continue;
            CpuActor other = _kernel.Cpus[c];
            if ((other.State.RqMembarrierState & MembarrierState.GlobalExpedited) == 0) continue;
            if (other.SampleCurrMm(Id, Context.NowNs) == KernelIds.None) continue;
            mask = mask.With(c);
        }
        return mask;
    }

    /// <summary>(c): "exit from system call is not a mb"; matches the barriers before rq->curr changes in the scheduler.</summary>
    private void MembarrierExitBarrier()
    {
        Barrier(BarrierReason.MembarrierExit);
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
        _kernel.Mm(_mbMm).SetMembarrierState(set);
        _regReady = ready;
        SyncRunqueuesMembarrierState();
    }

    /// <summary>sync_runqueues_membarrier_state(): the local shortcut, or synchronize_rcu() then ipi_sync_rq_state.</summary>
    private void SyncRunqueuesMembarrierState()
    {
        MmActor mm = _kernel.Mm(_mbMm);
        if (mm.State.Users == 1 || _kernel.Config.Cpus == 1)
        {
            Persist(new RqMembarrierStateSet(Id, mm.State.MembarrierState, RqStateReason.RegisterLocal));
            Barrier(BarrierReason.RegisterSync);
            ContinueAfter(StepNs(), CpuPhase.RegReady);
            return;
        }
        StartGracePeriod(CpuPhase.RegIpis);
    }

    private void RegisterSendIpis()
    {
        if (!TryLockIpiMutex()) return;
        CpuMask targets = CpusRunningMm(_mbMm);
        Persist(new MembarrierSampled(Id, targets));
        BeginWait(CpuPhase.RegWait);
        for (int c = 0; c < _kernel.Config.Cpus; c++)
        {
            if (!targets.Test(c)) continue;
            if (c == Id) RunLocalHandler(IpiKind.SyncRqState, _mbMm, 0);
            else SendIpi(c, IpiKind.SyncRqState, _mbMm, 0);
        }
        EndSending();
    }

    private void RegisterReady()
    {
        UnlockIpiMutex();
        _kernel.Mm(_mbMm).SetMembarrierState(_regReady);
        MembarrierReturn(0);
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
        Persist(new MembarrierExited(Id, State.Curr, ret));
        if (_mbRecord is not null)
        {
            _mbRecord.Ret = ret;
            _mbRecord.Returned = true;
            _mbRecord = null;
        }
        ContinueAfter(StepNs(), CpuPhase.SyscallExit);
    }

    /// <summary>SERIALIZE_IPI(): membarrier_ipi_mutex (CVE-2024-26602 fix). Spins a step and retries while another CPU holds it.</summary>
    private bool TryLockIpiMutex()
    {
        int owner = _kernel.MembarrierIpiMutexOwner;
        if (owner >= 0 && owner != Id)
        {
            ContinueAfter(StepNs(), _phase);
            return false;
        }
        _kernel.MembarrierIpiMutexOwner = Id;
        return true;
    }

    private void UnlockIpiMutex()
    {
        if (_kernel.MembarrierIpiMutexOwner == Id) _kernel.MembarrierIpiMutexOwner = -1;
    }

    /// <summary>synchronize_rcu(): wait until every other CPU passed a quiescent state (a switch, user mode, idle).</summary>
    private void StartGracePeriod(CpuPhase after)
    {
        _gracePeriodStart ??= new long[_kernel.Config.Cpus];
        Array.Copy(_kernel.QuiescentStates, _gracePeriodStart, _gracePeriodStart.Length);
        _afterGracePeriod = after;
        ContinueAfter(_kernel.Config.Timing.RcuPollNs, CpuPhase.RcuWait);
    }

    private void PollGracePeriod()
    {
        for (int c = 0; c < _kernel.Config.Cpus; c++)
        {
            if (c == Id) continue;
            CpuActor other = _kernel.Cpus[c];
            bool quiescent = _kernel.QuiescentStates[c] != _gracePeriodStart![c]
                || other.State.Mode is CpuMode.User or CpuMode.Idle || other.InRcuWait;
            if (!quiescent)
            {
                ContinueAfter(_kernel.Config.Timing.RcuPollNs, CpuPhase.RcuWait);
                return;
            }
        }
        ContinueAfter(StepNs(), _afterGracePeriod);
    }
}
