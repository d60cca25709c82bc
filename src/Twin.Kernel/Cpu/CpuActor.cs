using Akka.Actor;
using Twin.Actors;
using Twin.Kernel.Arch;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Sites;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

/// <summary>
/// One CPU (stream "cpu-N"), an Akka persistent actor. It executes the program of the task its
/// runqueue says is current, step by step: user work, syscalls (membarrier, mprotect, munmap,
/// fork, exec, exit, sleep, yield, arch_prctl, clone) and, for kernel threads, kernel work and
/// kthread_use/unuse_mm. Kernel code runs in phases; each phase is one message, so other CPUs
/// interleave between them. Interrupts (the tick, IPIs) are handled between phases when
/// interrupts are enabled, and queued while they are off. The partial files hold the scheduler,
/// switch_mm and TLB flushes, syscalls, membarrier, interrupts, LAM, text_poke, exceptions,
/// hotplug and isolation.
///
/// A store to memory another actor owns (the runqueue, an mm, the task table, the kernel text)
/// is a message to its owner, and the CPU stalls until the owner answers: it takes nothing else,
/// not even an interrupt, in between (<see cref="Store"/>). So a CPU's program order is kept, and
/// other CPUs may interleave at each store, as on the hardware. Driver state (the phase, wait
/// counters, the pending-IPI queue) is not journaled: re-execution reproduces it.
/// </summary>
public sealed partial class CpuActor : KernelActor
{
    private readonly ArchProfile _arch;
    private readonly Queue<int> _pendingIpis = new();
    private readonly BufferedWord? _currMmSeen;
    private readonly BufferedWord? _rqStateSeen;
    private bool _rqStateStore;
    private CpuPhase _phase = CpuPhase.Idle;
    private long _token;
    private bool _stalled;
    private long _reply;
    private bool _irqsOff;
    private bool _needResched;
    private long _workUntilNs;
    private long _slice;

    public CpuActor(Kernel kernel, int cpu) : base(kernel, StreamOf(cpu))
    {
        _arch = kernel.Config.Arch;
        if (kernel.Config.CurrStoreBufferNs > 0)
        {
            _currMmSeen = new BufferedWord();
            _rqStateSeen = new BufferedWord();
        }
        Id = cpu;
        State = new CpuState(cpu);
        kernel.Register(this);
        Recover<CpuBooted>(State.Apply);
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
    }

    public int Id { get; }

    public CpuState State { get; }

    /// <summary>What the CPU executes: user code, kernel code, or its idle task.</summary>
    public CpuMode Mode => State.InUser ? CpuMode.User : Rq.CurrIsIdle ? CpuMode.Idle : CpuMode.Kernel;

    /// <summary>Context switches so far: RCU's quiescent states (with user mode and idle), read by synchronize_rcu() on other CPUs.</summary>
    public long QuiescentStates { get; private set; }

    /// <summary>True while the CPU waits in synchronize_rcu(): it would sleep there, so RCU counts it quiescent.</summary>
    public bool InRcuWait => _phase == CpuPhase.RcuWait;

    public static string StreamOf(int cpu) => $"cpu-{cpu}";

    public override void HashState(ref StateHasher hasher) => State.Hash(ref hasher);

    /// <summary>This CPU's runqueue, read at an instant (it is written only by message).</summary>
    private RqState Rq => Kernel.Rqs[Id].State;

    private IActorRef RqRef => Kernel.RqRefs[Id];

    /// <summary><c>rq->curr</c>.</summary>
    private int Curr => Rq.Curr;

    private TaskRuntime Current => Kernel.Runtime(Curr);

    private int CurrentMm => Kernel.Tasks.Get(Curr).Mm;

    protected override void Start() => Persist(new CpuBooted(Id));

    protected override void OnCommand(object message)
    {
        if (_stalled || _excStalled || _irqStalled)
        {
            if (message is Done done && TryResume(done)) return;
            // Nothing else happens on a CPU waiting for a store: the message waits its turn.
            Stash.Stash();
            return;
        }
        switch (message)
        {
            case Continue c:
                OnContinue(c);
                break;
            case SchedTick t:
                OnTick(t);
                break;
            case RqWoken:
                OnRqWoken();
                break;
            case IpiArrived a:
                OnIpiArrived(a);
                break;
            case SpuriousIrq irq:
                OnSpuriousIrq(irq);
                break;
            case IpiAcked ack:
                OnIpiAcked(ack);
                break;
            case NmiArrived nmi:
                OnNmi(nmi);
                break;
            case ExceptionStep step:
                OnExceptionStep(step);
                break;
            case CpuHotplug h:
                OnHotplug(h);
                break;
            case CtWorkRequest ct:
                OnCtWorkRequest(ct);
                break;
            case CtWorkAnswer answer:
                OnCtWorkAnswer(answer);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>
    /// A store to memory <paramref name="owner"/> owns: the request goes out (its token made by
    /// <see cref="NextToken"/>) and the CPU stalls until the owner's <see cref="Done"/>; then
    /// <paramref name="then"/> runs at once, with the owner's answer in <see cref="_reply"/>.
    /// </summary>
    private void Store(IActorRef owner, object request, CpuPhase then)
    {
        Invariant.Assert(!_stalled && !_excStalled && !_irqStalled, "one store in flight per CPU");
        _stalled = true;
        _phase = then;
        _rqStateStore = request is RqSetMembarrierState or RqSwitch;
        owner.Tell(request, Self);
    }

    /// <summary>A fresh token: any earlier pending Continue or answer becomes stale.</summary>
    private long NextToken() => ++_token;

    private bool TryResume(Done done)
    {
        if (_stalled && done.Token == _token)
        {
            _stalled = false;
            _reply = done.Value;
            if (_rqStateStore) RqStateStored();
            Stash.UnstashAll();
            RunPhase(_phase);
            return true;
        }
        if (_irqStalled && done.Token == _irqToken)
        {
            Stash.UnstashAll();
            HandlerStored();
            return true;
        }
        if (_excStalled && done.Token == _excToken)
        {
            _excStalled = false;
            _excReply = done.Value;
            Stash.UnstashAll();
            RunExceptionStage();
            return true;
        }
        return false;
    }

    /// <summary>
    /// rq->curr->mm as membarrier's sample (b) on CPU <paramref name="reader"/> reads it: the value
    /// itself, unless <c>litmus.currStoreBufferNs</c> puts its stores through a store buffer.
    /// </summary>
    internal int SampleCurrMm(int reader, long nowNs) => reader == Id || _currMmSeen is null ? CurrentMm : _currMmSeen.Read(nowNs);

    /// <summary>rq->membarrier_state as GLOBAL_EXPEDITED's sample on CPU <paramref name="reader"/> reads it (through the store buffer, like <see cref="SampleCurrMm"/>).</summary>
    internal int SampleRqState(int reader, long nowNs) => reader == Id || _rqStateSeen is null ? Rq.MembarrierState : _rqStateSeen.Read(nowNs);

    /// <summary>This CPU stored rq->curr or current->mm; under the litmus option it is buffered (TSO: due after the full delay; weaker: after a random part of it).</summary>
    private void CurrMmStored(int mm)
    {
        if (_currMmSeen is null) return;
        _currMmSeen.Store(mm, KernelStoreDue());
    }

    /// <summary>This CPU's store to its rq->membarrier_state completed: buffered like <see cref="CurrMmStored"/>.</summary>
    private void RqStateStored()
    {
        _rqStateStore = false;
        _rqStateSeen?.Store(Rq.MembarrierState, KernelStoreDue());
    }

    private long KernelStoreDue()
    {
        long ns = Kernel.Config.CurrStoreBufferNs;
        return NowNs + (_arch.IsX86 ? ns : Random.NextLong(0, ns));
    }

    /// <summary>A full barrier or (x86) serializing instruction of this CPU: its buffered kernel stores become visible.</summary>
    private void DrainKernelStores()
    {
        _currMmSeen?.Drain();
        _rqStateSeen?.Drain();
    }

    /// <summary>Time one phase of kernel code takes, drawn from <c>kernel.stepNs*</c>, now and then stalled (<c>kernel.stall*</c>).</summary>
    private long StepNs() => StepTiming.StepNs(Kernel, State, Random);

    /// <summary>Arms the next phase; any earlier pending Continue becomes stale.</summary>
    private void ContinueAfter(long delayNs, CpuPhase phase)
    {
        _phase = phase;
        TellAfter(delayNs, Self, new Continue(NextToken()));
    }

    private void OnContinue(Continue c)
    {
        if (c.Token != _token) return;
        if (_inException)
        {
            _excMainDue = true;
            return;
        }
        RunPhase(_phase);
    }

    private void RunPhase(CpuPhase phase)
    {
        switch (phase)
        {
            case CpuPhase.UserSpin: EndUserWork(); break;
            case CpuPhase.UserNext: NextUserStep(); break;
            case CpuPhase.KernelSpin: EndKernelWork(); break;
            case CpuPhase.KernelNext: NextKernelStep(); break;
            case CpuPhase.SyscallDispatch: DispatchSyscall(); break;
            case CpuPhase.SyscallExit: SyscallExit(); break;
            case CpuPhase.SchedLocked: ScheduleLocked(); break;
            case CpuPhase.SchedSwitched: ScheduleSwitched(); break;
            case CpuPhase.SchedMm: ScheduleSwitchMm(); break;
            case CpuPhase.SchedMmLoad: SwitchMmLoad(CpuPhase.SchedFinish); break;
            case CpuPhase.SchedFinish: FinishTaskSwitch(); break;
            case CpuPhase.SchedPrevMmTaken: DropPrevMm(); break;
            case CpuPhase.SwitchCpumaskSet: SwitchMmEnterWindow(); break;
            case CpuPhase.SwitchLoadRest: SwitchMmLoadRest(); break;
            case CpuPhase.MbPrepared: PrivateExpeditedGo(); break;
            case CpuPhase.MbBarrierA: MembarrierEntryBarrier(); break;
            case CpuPhase.MbIpis: TryLockIpiMutex(CpuPhase.MbIpis); break;
            case CpuPhase.MbLockAnswer: IpiMutexAnswered(); break;
            case CpuPhase.MbBarrierC: MembarrierExitBarrier(); break;
            case CpuPhase.RcuWait: PollGracePeriod(); break;
            case CpuPhase.GlobalDone: MembarrierReturn(0); break;
            case CpuPhase.RegStateSet: SyncRunqueuesMembarrierState(); break;
            case CpuPhase.RegLocalSet: RegisterLocalSet(); break;
            case CpuPhase.RegIpis: TryLockIpiMutex(CpuPhase.RegIpis); break;
            case CpuPhase.RegLocalHandled: RegisterLocalHandled(); break;
            case CpuPhase.RegReady: RegisterReady(); break;
            case CpuPhase.RegDone: RegisterDone(); break;
            case CpuPhase.FlushGen: FlushTlbMmRangeSend(); break;
            case CpuPhase.ExitMmClear: ExitMmClear(); break;
            case CpuPhase.ExitMmTaskCleared: ExitMmTaskCleared(); break;
            case CpuPhase.ExitMmRqUpdated: ExitMmRqUpdated(); break;
            case CpuPhase.ExitMmPut: ContinueAfter(StepNs(), CpuPhase.DoTaskDead); break;
            case CpuPhase.DoTaskDead: DoTaskDead(); break;
            case CpuPhase.DoTaskDeadDone: TaskDead(); break;
            case CpuPhase.ForkDone: StartNewTask((int)_reply); break;
            case CpuPhase.CloneLamLocked: CloneTakeUser(); break;
            case CpuPhase.CloneUsersGot: CloneCreateTask(); break;
            case CpuPhase.CloneDone: StartNewTask(Current.Current.Target); break;
            case CpuPhase.ExecNewMm: ExecResetState(); break;
            case CpuPhase.ExecMmReset: ExecResetRq(); break;
            case CpuPhase.ExecRqReset: ExecSetTaskMm(); break;
            case CpuPhase.ExecTaskMm: ExecActivateMm(); break;
            case CpuPhase.ExecLoad: ExecLoad(); break;
            case CpuPhase.ExecLoaded: ExecLoaded(); break;
            case CpuPhase.ExecOldPut: ContinueAfter(StepNs(), CpuPhase.SyscallExit); break;
            case CpuPhase.UseMmGot: KthreadUseMmSetTask(); break;
            case CpuPhase.UseMmTaskSet: KthreadUseMmUpdateRq(); break;
            case CpuPhase.UseMmSwitch: KthreadUseMmSwitch(); break;
            case CpuPhase.UseMmLoad: SwitchMmLoad(CpuPhase.UseMmLoaded); break;
            case CpuPhase.UseMmLoaded: KthreadUseMmFinish(sameMmWithoutCr3: false); break;
            case CpuPhase.UseMmSame: KthreadUseMmFinish(sameMmWithoutCr3: _unlazyWithoutCr3); break;
            case CpuPhase.UnuseMmClear: KthreadUnuseMmClear(); break;
            case CpuPhase.UnuseTaskCleared: KthreadUnuseMmUpdateRq(); break;
            case CpuPhase.UnuseRqUpdated: KthreadUnuseMmLazy(); break;
            case CpuPhase.UnusePut: ContinueAfter(StepNs(), CpuPhase.KernelNext); break;
            case CpuPhase.LamEnabled: LamEnabled(); break;
            case CpuPhase.LamLock: LamLock(); break;
            case CpuPhase.LamLocked: ArchPrctlReturn(0); break;
            case CpuPhase.TextMutexWait: TextMutexLock(); break;
            case CpuPhase.TextLockAnswer: TextMutexAnswered(); break;
            case CpuPhase.PokeBegan: ContinueAfter(StepNs(), CpuPhase.PokeInt3); break;
            case CpuPhase.PokeInt3: PokeStep(TextPokePhase.Int3Written, CpuPhase.PokeInt3Done); break;
            case CpuPhase.PokeInt3Done: SyncEachCpu(TextPokePhase.Synced1, CpuPhase.PokeTail); break;
            case CpuPhase.PokeTail: PokeStep(TextPokePhase.TailWritten, CpuPhase.PokeTailDone); break;
            case CpuPhase.PokeTailDone: SyncEachCpu(TextPokePhase.Synced2, CpuPhase.PokeFirst); break;
            case CpuPhase.PokeFirst: PokeStep(TextPokePhase.FirstWritten, CpuPhase.PokeFirstDone); break;
            case CpuPhase.PokeFirstDone: SyncEachCpu(TextPokePhase.Synced3, CpuPhase.PokeFinish); break;
            case CpuPhase.PokeSyncedDone: ContinueAfter(StepNs(), _pokeNext); break;
            case CpuPhase.PokeFinish: PokeFinish(); break;
            case CpuPhase.PokeVecCleared: ContinueAfter(StepNs(), CpuPhase.PokeNrEntries); break;
            case CpuPhase.PokeDescCleared: PokeDropDescRef(); break;
            case CpuPhase.PokeRefsWait: PokeRefsWait(); break;
            case CpuPhase.PokeNrEntries: PokeStep(TextPokePhase.NrEntriesCleared, CpuPhase.PokeNrCleared); break;
            case CpuPhase.PokeNrCleared: PokeEnd(); break;
            case CpuPhase.PokeEnd: PokeEnd(); break;
            case CpuPhase.PokeEnded: ContinueAfter(StepNs(), _pokeAfter); break;
            default:
                Invariant.Assert(false, $"nothing runs in phase {phase}");
                break;
        }
    }

    /// <summary>Starts the running task's slice; its tick ends it. Any earlier slice's tick becomes stale.</summary>
    private void StartSlice()
    {
        TimingConfig t = Kernel.Config.Timing;
        TellAfter(Random.NextLong(t.SliceNsMin, t.SliceNsMax), Self, new SchedTick(++_slice));
    }

    private void CancelSlice() => _slice++;

    /// <summary>
    /// The core-serializing event of <paramref name="site"/> (as <paramref name="reason"/>, or the
    /// site's own), unless the config leaves the site out or a skip-serialize fault fires there
    /// (then the fault is journaled instead).
    /// </summary>
    private void Serialize(OrderingSite site, CoreSerializeReason reason = 0)
    {
        if (Kernel.Omits(site)) return;
        if (reason == 0) reason = (CoreSerializeReason)SiteCatalog.ReasonOf(site);
        if (Kernel.Faults is { } f && f.SkipsSerialize(Id, reason, site))
        {
            Persist(new FaultInjected(Id, FaultKind.SkipSerialize, Id, (int)reason, 0));
            return;
        }
        Persist(new CoreSerialized(Id, reason));
        if (Kernel.Text is { } text) _textSeenSeq = text.State.WriteSeq;
        // x86's serializing instructions drain the store buffer; ERET, rfid or fence.i order no memory accesses.
        if (_arch.IsX86) DrainKernelStores();
    }

    /// <summary>The core-serializing event, if any, of <c>sync_core_before_usermode()</c> on this architecture, at <paramref name="site"/>.</summary>
    private void SyncCoreBeforeUsermode(OrderingSite site)
    {
        CoreSerializeReason? r = _arch.SyncCoreBeforeUsermode();
        if (r is null) return;
        Serialize(site, r == CoreSerializeReason.FenceI ? CoreSerializeReason.FenceI : 0);
    }

    /// <summary>
    /// Returns the running task to user mode by <paramref name="path"/>. The serialization the path
    /// implies (IRET, PTI's CR3 switch, exception return) completes before the first user
    /// instruction, so it is journaled first.
    /// </summary>
    private void ReturnToUser(ReturnPath path)
    {
        switch (_arch.SerializationOf(path))
        {
            case CoreSerializeReason.PtiCr3: Serialize(OrderingSite.UserReturnPtiCr3); break;
            case CoreSerializeReason.Iret: Serialize(OrderingSite.UserReturnIret); break;
            case CoreSerializeReason.ExceptionReturn: Serialize(OrderingSite.UserReturnEret); break;
        }
        IpiRegistration(false);
        Persist(new ReturnedToUser(Id, Curr, path));
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
        bool forcedIret = _arch.HasSysret && Random.Chance(Kernel.Config.Timing.IretOnSyscallReturn);
        ReturnToUser(_arch.PathFor(viaSyscall: true, forcedIret));
        ContinueAfter(StepNs(), CpuPhase.UserNext);
    }
}
