using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Kernel.Arch;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

/// <summary>
/// One CPU and its runqueue (stream "cpu-N"). It executes its current task's program step by step:
/// user work, syscalls (membarrier, mprotect, munmap, fork, exec, exit, sleep, yield) and, for
/// kernel threads, kernel work and kthread_use/unuse_mm. Kernel code runs in phases; each phase is
/// one message, so other CPUs interleave between them. Interrupts (the tick, IPIs) are handled
/// between phases when interrupts are enabled, and queued while they are off. The partial files
/// hold the scheduler, switch_mm and TLB flushes, syscalls, membarrier, and interrupts.
///
/// Driver state (the phase, wait counters, the pending-IPI queue) is not journaled: it is
/// reproduced by re-execution. Kernel state is, through <see cref="CpuState"/>.
/// </summary>
public sealed partial class CpuActor : PersistentActor
{
    private const string SliceTimer = "slice";

    private readonly Kernel _kernel;
    private readonly ArchProfile _arch;
    private readonly Queue<int> _pendingIpis = new();
    private CpuPhase _phase = CpuPhase.Idle;
    private long _token;
    private bool _irqsOff;
    private bool _needResched;
    private long _workUntilNs;
    private readonly BufferedCurrMm? _currMmSeen;

    public CpuActor(Kernel kernel, int cpu)
    {
        _kernel = kernel;
        _arch = kernel.Config.Arch;
        if (kernel.Config.CurrStoreBufferNs > 0) _currMmSeen = new BufferedCurrMm();
        Id = cpu;
        State = new CpuState(cpu);
        kernel.Cpus[cpu] = this;
        Recover<CpuBooted>(State.Apply);
        Recover<TaskEnqueued>(State.Apply);
        Recover<SchedSwitched>(State.Apply);
        Recover<LazyTlbEntered>(State.Apply);
        Recover<MmSwitchBegan>(State.Apply);
        Recover<MmSwitched>(State.Apply);
        Recover<TlbFlushed>(State.Apply);
        Recover<KernelEntered>(State.Apply);
        Recover<ReturnedToUser>(State.Apply);
        Recover<FullBarrier>(State.Apply);
        Recover<CpuLamLoaded>(State.Apply);
        Recover<ArchPrctlReturned>(static _ => { });
        Recover<UntaggedAddr>(static _ => { });
        Recover<TextFetched>(static _ => { });
        Recover<Int3Handled>(static _ => { });
        Recover<CtWork>(State.Apply);
        Recover<CpuHotplugged>(State.Apply);
        Recover<RqMembarrierStateSet>(State.Apply);
        Recover<CoreSerialized>(static _ => { });
        Recover<IpiHandled>(static _ => { });
        Recover<CodeWritten>(static _ => { });
        Recover<UserStored>(static _ => { });
        Recover<UserLoaded>(static _ => { });
        Recover<FaultInjected>(static _ => { });
        Recover<RseqAborted>(static _ => { });
        Recover<RseqCsEntered>(static _ => { });
        Recover<RseqCsCommitted>(static _ => { });
        Recover<TlbShootdownStarted>(static _ => { });
        Recover<TlbShootdownFinished>(static _ => { });
        Recover<MembarrierEntered>(static _ => { });
        Recover<MembarrierSampled>(static _ => { });
        Recover<MembarrierExited>(static _ => { });
        Recover<KthreadWorkBegan>(static _ => { });
        Recover<KthreadWorkEnded>(static _ => { });
        Command<Continue>(OnContinue);
        Command<SchedTick>(OnTick);
        Command<TaskWakeup>(OnWakeup);
        Command<IpiArrived>(OnIpiArrived);
        Command<SpuriousIrq>(OnSpuriousIrq);
        Command<IpiAcked>(OnIpiAcked);
        Command<NmiArrived>(OnNmi);
        Command<ExceptionStep>(OnExceptionStep);
        Command<CpuHotplug>(OnHotplug);
    }

    public int Id { get; }

    public CpuState State { get; }

    /// <summary>True while the CPU waits in synchronize_rcu(): it would sleep there, so RCU counts it quiescent.</summary>
    public bool InRcuWait => _phase == CpuPhase.RcuWait;

    // Formatted once: the id is read on every persist and at every state-hash checkpoint.
    public override string PersistenceId => _persistenceId ??= StreamOf(Id);

    private string? _persistenceId;

    public static string StreamOf(int cpu) => $"cpu-{cpu}";

    public override void HashState(ref StateHasher hasher) => State.Hash(ref hasher);

    protected override void PreStart()
    {
        if (LastSequenceNr == 0) Persist(new CpuBooted(Id));
    }

    private TaskRuntime Current => _kernel.Runtime(State.Curr);

    private int CurrentMm => _kernel.Tasks.Get(State.Curr).Mm;

    /// <summary>
    /// rq->curr->mm as membarrier's sample (b) on CPU <paramref name="reader"/> reads it: the value
    /// itself, unless <c>litmus.currStoreBufferNs</c> puts its stores through a store buffer.
    /// </summary>
    internal int SampleCurrMm(int reader, long nowNs) => reader == Id || _currMmSeen is null ? CurrentMm : _currMmSeen.Read(nowNs);

    /// <summary>This CPU stored rq->curr or current->mm; under the litmus option it is buffered (TSO: due after the full delay; weaker: after a random part of it).</summary>
    private void CurrMmStored(int mm)
    {
        if (_currMmSeen is null) return;
        long ns = _kernel.Config.CurrStoreBufferNs;
        _currMmSeen.Store(mm, Context.NowNs + (_arch.IsX86 ? ns : Context.Random.NextLong(0, ns)));
    }

    /// <summary>Time one phase of kernel code takes, drawn from <c>kernel.stepNs*</c>, now and then stalled (<c>kernel.stall*</c>).</summary>
    private long StepNs()
    {
        TimingConfig t = _kernel.Config.Timing;
        DeterministicRandom random = Context.Random;
        if (t.StallProbability > 0 && random.Chance(t.StallProbability)) return random.NextLong(t.StepNsMax, Math.Max(t.StepNsMax, t.StallNsMax));
        return random.NextLong(t.StepNsMin, t.StepNsMax);
    }

    /// <summary>Arms the next phase; any earlier pending Continue becomes stale.</summary>
    private void ContinueAfter(long delayNs, CpuPhase phase)
    {
        _phase = phase;
        _token++;
        Context.System.ScheduleTellOnce(delayNs, Self, new Continue(_token));
    }

    private void OnContinue(Continue c)
    {
        if (c.Token != _token) return;
        if (_inException)
        {
            _excMainDue = true;
            return;
        }
        switch (_phase)
        {
            case CpuPhase.UserSpin: EndUserWork(); break;
            case CpuPhase.UserNext: NextUserStep(); break;
            case CpuPhase.KernelSpin: EndKernelWork(); break;
            case CpuPhase.KernelNext: NextKernelStep(); break;
            case CpuPhase.SyscallDispatch: DispatchSyscall(); break;
            case CpuPhase.SyscallExit: SyscallExit(); break;
            case CpuPhase.SchedMm: ScheduleSwitchMm(); break;
            case CpuPhase.SchedMmLoad: ScheduleLoadMm(); break;
            case CpuPhase.MbBarrierA: MembarrierEntryBarrier(); break;
            case CpuPhase.MbIpis: MembarrierSendIpis(); break;
            case CpuPhase.MbBarrierC: MembarrierExitBarrier(); break;
            case CpuPhase.RcuWait: PollGracePeriod(); break;
            case CpuPhase.GlobalDone: MembarrierReturn(0); break;
            case CpuPhase.RegIpis: RegisterSendIpis(); break;
            case CpuPhase.RegReady: RegisterReady(); break;
            case CpuPhase.ExitMmClear: ExitMmClear(); break;
            case CpuPhase.DoTaskDead: DoTaskDead(); break;
            case CpuPhase.LamLock: LamLock(); break;
            case CpuPhase.UseMmLoad: KthreadUseMmLoad(); break;
            case CpuPhase.UnuseMmClear: KthreadUnuseMmClear(); break;
            case CpuPhase.ExecLoad: ExecLoad(); break;
            case CpuPhase.TextMutexWait: TextMutexLock(); break;
            case CpuPhase.PokeInt3: PokeInt3(); break;
            case CpuPhase.PokeTail: PokeTail(); break;
            case CpuPhase.PokeFirst: PokeFirst(); break;
            case CpuPhase.PokeFinish: PokeFinish(); break;
            case CpuPhase.PokeRefsWait: PokeRefsWait(); break;
            case CpuPhase.PokeNrEntries: PokeNrEntries(); break;
            case CpuPhase.PokeEnd: PokeEnd(); break;
            default:
                Invariant.Assert(false, $"no Continue is armed in phase {_phase}");
                break;
        }
    }

    private void OnWakeup(TaskWakeup wakeup)
    {
        if (_inException)
        {
            _excWakeups.Enqueue(wakeup.Task);
            return;
        }
        if (ForwardedWhileOffline(wakeup)) return;
        ArmNmi();
        Persist(new TaskEnqueued(Id, wakeup.Task));
        if (_phase == CpuPhase.Idle && !_irqsOff) Schedule(PrevState.Runnable);
    }

    private void StartSlice()
    {
        TimingConfig t = _kernel.Config.Timing;
        Timers.StartSingleTimer(SliceTimer, new SchedTick(), Context.Random.NextLong(t.SliceNsMin, t.SliceNsMax));
    }

    /// <summary>A core-serializing event on this CPU, unless the fault plan leaves it out (then the fault is journaled instead).</summary>
    private void Serialize(CoreSerializeReason reason)
    {
        if (_kernel.Faults is { } f && f.SkipsSerialize(Id, reason))
        {
            Persist(new FaultInjected(Id, FaultKind.SkipSerialize, Id, (int)reason, 0));
            return;
        }
        Persist(new CoreSerialized(Id, reason));
        if (_kernel.Text is { } text) _textSeenSeq = text.State.WriteSeq;
        // x86's serializing instructions drain the store buffer; ERET, rfid or fence.i order no memory accesses.
        if (_arch.IsX86) _currMmSeen?.Drain();
    }

    /// <summary>Emits the core-serializing event, if any, of <c>sync_core_before_usermode()</c> on this architecture.</summary>
    private void SyncCoreBeforeUsermode(CoreSerializeReason asReason)
    {
        CoreSerializeReason? r = _arch.SyncCoreBeforeUsermode();
        if (r is null) return;
        Serialize(r == CoreSerializeReason.FenceI ? CoreSerializeReason.FenceI : asReason);
    }

    /// <summary>
    /// Returns the running task to user mode by <paramref name="path"/>. The serialization the path
    /// implies (IRET, PTI's CR3 switch, exception return) completes before the first user
    /// instruction, so it is journaled first.
    /// </summary>
    private void ReturnToUser(ReturnPath path)
    {
        CoreSerializeReason? s = _arch.SerializationOf(path);
        if (s is not null) Serialize(s.Value);
        IpiRegistration(false);
        Persist(new ReturnedToUser(Id, State.Curr, path));
    }

    /// <summary>Leaves the kernel after a syscall: reschedule if the tick asked for it, else SYSRET (or IRET on x86's slow path).</summary>
    private void SyscallExit()
    {
        TaskRuntime task = Current;
        if (_needResched && WantsSchedule)
        {
            task.Resume = ResumeKind.ReturnFromSyscall;
            if (Schedule(PrevState.Runnable)) return;
        }
        bool forcedIret = _arch.HasSysret && Context.Random.Chance(_kernel.Config.Timing.IretOnSyscallReturn);
        ReturnToUser(_arch.PathFor(viaSyscall: true, forcedIret));
        ContinueAfter(StepNs(), CpuPhase.UserNext);
    }
}
