using Akka.Actor;
using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Sites;
using Twin.Kernel.Faults;
using Twin.Kernel.Ipi;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// Interrupts: the tick and IPIs. From user mode an interrupt enters the kernel, runs its handler
// and leaves through the IRQ exit path, which may reschedule (then the task switched in returns
// by its own path: the B4/B5 window); else it IRETs back. In the kernel the handler runs at once
// if interrupts are on, and waits in a queue until they are back on otherwise. Sending: each
// cross-call goes through this CPU's csd for its target (an actor), and a sender that waits
// counts the acknowledgements.
public sealed partial class CpuActor
{
    private long _nextWaitToken;
    private CpuPhase _waitPhase;
    private IActorRef?[]? _csds;
    private long _ipisSent;

    /// <summary>Room for every CPU number (at most <see cref="Limits.MaxCpus"/>) in the low decimal digits of an IPI id.</summary>
    private const long IpiIdCpuBase = 1000;

    // A handler that stores to the runqueue (ipi_sync_rq_state) waits for the store inside the
    // interrupt: its own token, so the CPU's armed phase stays as it was.
    private bool _irqStalled;
    private long _irqToken;
    private int _irqSlot;
    private bool _irqFromUser;
    private long _irqRemaining;

    private void OnTick(SchedTick tick)
    {
        if (tick.Slice != _slice) return;
        if (_inException)
        {
            _excTickDue = true;
            return;
        }
        if (Mode == CpuMode.Idle || _phase == CpuPhase.Idle) return;
        if (Mode == CpuMode.User)
        {
            InterruptFromUser(ipiSlot: -1);
            return;
        }
        _needResched = true;
        if (!_irqsOff) InterruptReturnToKernel();
    }

    private void OnIpiArrived(IpiArrived arrived)
    {
        if (HeldByException(arrived.Slot)) return;
        if (_irqsOff)
        {
            _pendingIpis.Enqueue(arrived.Slot);
            return;
        }
        if (Mode == CpuMode.User) InterruptFromUser(arrived.Slot);
        else HandleIpiInKernel(arrived.Slot);
    }

    /// <summary>The pending-interrupt slot of a spurious interrupt (no csd to run).</summary>
    private const int SpuriousSlot = -2;

    /// <summary>A spurious interrupt: entry and exit with no handler; an idle CPU just goes back to idle.</summary>
    private void OnSpuriousIrq(SpuriousIrq irq)
    {
        if (Mode == CpuMode.Idle || _phase == CpuPhase.Idle) return;
        if (irq.Storm) Raise(new FaultInjected(Id, FaultKind.IrqStorm, Id, 0, 0));
        if (HeldByException(SpuriousSlot)) return;
        if (_irqsOff)
        {
            _pendingIpis.Enqueue(SpuriousSlot);
            return;
        }
        if (Mode == CpuMode.User) InterruptFromUser(SpuriousSlot);
        else InterruptReturnToKernel();
    }

    /// <summary>An interrupt taken in user mode: kernel entry, handler, IRQ exit (reschedule or IRET).</summary>
    /// <param name="ipiSlot">The IPI to handle, -1 for the tick (which always asks to reschedule), <see cref="SpuriousSlot"/> for none.</param>
    private void InterruptFromUser(int ipiSlot)
    {
        TaskRuntime task = Current;
        long remaining = Math.Max(0, _workUntilNs - NowNs);
        _token++; // the end of the interrupted user work is re-armed below
        EnterKernel(EntryReason.Interrupt);
        if (ipiSlot >= 0 && HandlerStores(ipiSlot))
        {
            StallInHandler(ipiSlot, fromUser: true, remaining);
            return;
        }
        if (ipiSlot >= 0) RunIpi(ipiSlot);
        UserInterruptExit(ipiSlot, remaining);
    }

    /// <summary>IRQ exit to user mode: reschedule if asked (the tick always asks), else return by the interrupt path.</summary>
    private void UserInterruptExit(int ipiSlot, long remaining)
    {
        TaskRuntime task = Current;
        bool resched = ipiSlot == -1 || _needResched || Random.Chance(Kernel.Config.Timing.ReschedOnIrqExit);
        if (resched && WantsSchedule)
        {
            task.Resume = ResumeKind.ReturnFromInterrupt;
            task.RemainingNs = remaining;
            if (Schedule(PrevState.Runnable)) return;
        }
        else if (ipiSlot == -1)
        {
            StartSlice();
        }
        ReturnToUser(_arch.PathFor(viaSyscall: false, forcedIret: false));
        ContinueUserWork(remaining);
    }

    private void HandleIpiInKernel(int slot)
    {
        if (slot != SpuriousSlot && HandlerStores(slot))
        {
            StallInHandler(slot, fromUser: false, 0);
            return;
        }
        if (slot != SpuriousSlot) RunIpi(slot);
        InterruptReturnToKernel();
    }

    /// <summary>
    /// The handler queued on <paramref name="slot"/> stores to this CPU's runqueue:
    /// ipi_sync_rq_state when current->mm is the registering mm.
    /// </summary>
    private bool HandlerStores(int slot)
    {
        IpiSent sent = Kernel.Csd(slot).Current!.Value;
        return sent.Kind == IpiKind.SyncRqState && !KernelIds.IsIdle(Curr) && CurrentMm == sent.Mm;
    }

    /// <summary>ipi_sync_rq_state: WRITE_ONCE(rq->membarrier_state, atomic_read(&amp;mm->membarrier_state)), a store the handler waits for; then smp_mb().</summary>
    private void StallInHandler(int slot, bool fromUser, long remaining)
    {
        Invariant.Assert(!_stalled && !_excStalled && !_irqStalled, "one store in flight per CPU");
        IpiSent sent = Kernel.Csd(slot).Current!.Value;
        _irqStalled = true;
        _irqSlot = slot;
        _irqFromUser = fromUser;
        _irqRemaining = remaining;
        RqRef.Tell(new RqSetMembarrierState(++_irqToken, Kernel.Mm(sent.Mm).State.MembarrierState, RqStateReason.IpiSyncRqState), Self);
    }

    /// <summary>The handler's store is visible: its barrier, the csd unlocked, and the interrupt's exit.</summary>
    private void HandlerStored()
    {
        _irqStalled = false;
        RqStateStored();
        IpiActor csd = Kernel.Csd(_irqSlot);
        IpiSent sent = csd.Current!.Value;
        Barrier(OrderingSite.IpiSyncRqStateBarrier);
        Raise(new IpiHandled(Id, sent.Ipi, sent.Kind, sent.From));
        csd.Ref.Tell(new CsdUnlock(), Self);
        if (_irqFromUser) UserInterruptExit(_irqSlot, _irqRemaining);
        else InterruptReturnToKernel();
    }

    /// <summary>Returning from an interrupt to kernel code: x86 IRET and arm64/powerpc exception return serialize; riscv sret does not.</summary>
    private void InterruptReturnToKernel()
    {
        if (_arch.HasSysret) Serialize(OrderingSite.IrqReturnIret);
        else if (_arch.ExceptionReturnSerializes) Serialize(OrderingSite.IrqReturnEret);
    }

    /// <summary>Runs the cross-call queued on csd <paramref name="slot"/> (read at its arrival), then unlocks the csd.</summary>
    private void RunIpi(int slot)
    {
        IpiActor csd = Kernel.Csd(slot);
        IpiSent sent = csd.Current!.Value;
        Invariant.Assert(sent.To == Id, "an IPI runs on its target");
        RunHandler(sent.Kind, sent.Mm, sent.TlbGen, inIrq: true);
        Raise(new IpiHandled(Id, sent.Ipi, sent.Kind, sent.From));
        csd.Ref.Tell(new CsdUnlock(), Self);
    }

    /// <summary>on_each_cpu_mask / smp_call_function_single on the calling CPU: the handler runs here, interrupts off.</summary>
    private void RunLocalHandler(IpiKind kind, int mm, long gen)
    {
        bool wasOff = _irqsOff;
        _irqsOff = true;
        RunHandler(kind, mm, gen, inIrq: false);
        Raise(new IpiHandled(Id, 0, kind, Id));
        _irqsOff = wasOff;
    }

    /// <summary>The cross-call handlers of kernel-model §1.4 that store nowhere but this CPU (see <see cref="HandlerStores"/>).</summary>
    private void RunHandler(IpiKind kind, int mm, long gen, bool inIrq)
    {
        switch (kind)
        {
            case IpiKind.Mb:
                Barrier(OrderingSite.IpiMb);
                break;
            case IpiKind.SyncCore:
                // ipi_sync_core: smp_mb() first, then sync_core_before_usermode(). B4: the old x86
                // version returned early in interrupt context, trusting the IRET that may never come.
                Barrier(OrderingSite.IpiSyncCoreBarrier);
                if (!(inIrq && Kernel.Config.Has(BugSet.B4) && _arch.HasSysret)) SyncCoreBeforeUsermode(OrderingSite.IpiSyncCoreSerialize);
                break;
            case IpiKind.Rseq:
                Barrier(OrderingSite.IpiRseqBarrier);
                if (!KernelIds.IsIdle(Curr))
                {
                    TaskRuntime t = Current;
                    if (t.InRseqCs)
                    {
                        t.InRseqCs = false;
                        Raise(new RseqAborted(Id, Curr, ByIpi: true));
                    }
                }
                break;
            case IpiKind.SyncRqState:
                // ipi_sync_rq_state on a CPU whose current->mm is another mm: nothing to do. (The
                // store, when there is one, is StallInHandler's; the caller's own, RegisterSendIpis's.)
                Invariant.Assert(KernelIds.IsIdle(Curr) || CurrentMm != mm, "a runqueue store runs through StallInHandler");
                break;
            case IpiKind.FlushTlb:
                FlushTlbFunc(mm, gen);
                break;
            case IpiKind.EnableLam:
                EnableLamFunc(mm, inIrq ? LamLoadReason.EnableLamIpi : LamLoadReason.EnableLamLocal);
                break;
            case IpiKind.TextPokeSync:
                Serialize(OrderingSite.DoSyncCore); // do_sync_core(): sync_core()
                break;
        }
    }

    /// <summary>Starts a batch of IPIs sent with wait=1; <see cref="EndSending"/> closes it.</summary>
    private void BeginWait(CpuPhase waitPhase)
    {
        _waitPhase = waitPhase;
        _acksPending = 0;
        _waitToken = ++_nextWaitToken;
    }

    /// <summary>Queues a cross-call on this CPU's csd for <paramref name="to"/> and raises the IPI (online targets only).</summary>
    private void SendIpi(int to, IpiKind kind, int mm, long gen)
    {
        // Cross-calls go to cpu_online_mask only.
        if (!Kernel.Cpus[to].State.Online) return;
        _acksPending++;
        RaiseIpi(to, kind, mm, gen);
    }

    /// <summary>The IPI itself, for a call already counted as pending (a deferral refused).</summary>
    private void RaiseIpi(int to, IpiKind kind, int mm, long gen)
    {
        TimingConfig t = Kernel.Config.Timing;
        long latency = Random.NextLong(t.IpiNsMin, t.IpiNsMax);
        if (Kernel.Faults is { } faults) latency = InjectIpiFault(faults, to, kind, latency);
        // IPI ids are unique in a run and read in decimal: this CPU's count of IPIs sent, then the
        // CPU in the last three digits (IPI 2003 is CPU 3's second).
        var sent = new IpiSent(++_ipisSent * IpiIdCpuBase + Id, Id, to, kind, mm, gen);
        Kernel.CsdFor(Context, Id, to, ref _csds).Tell(new CsdQueue(sent, _waitToken, latency), Self);
    }

    /// <summary>Applies the first IPI fault of the plan that fires for this IPI; returns the latency it ends up with.</summary>
    private long InjectIpiFault(FaultInjector faults, int to, IpiKind kind, long latency)
    {
        if (faults.OnIpiSend(to, kind, out long ns) is not { } rule) return latency;
        Raise(new FaultInjected(Id, rule.Kind, to, (int)kind, ns));
        switch (rule.Kind)
        {
            case FaultKind.IpiDrop:
                // The interrupt is lost; the csd stays queued until csd_lock_wait() gives up
                // waiting and re-sends the IPI (kernel/smp.c, CSD lock timeout).
            case FaultKind.IpiDelay:
                return latency + ns;
            case FaultKind.IpiDuplicate:
                TellAfter(latency + ns, Kernel.CpuRefs[to], new SpuriousIrq(Storm: false));
                return latency;
            default:
                return latency;
        }
    }

    /// <summary>All IPIs of the batch are sent: wait for their handlers (csd_lock_wait), interrupts on.</summary>
    private void EndSending()
    {
        if (_acksPending == 0)
        {
            WaitDone();
            return;
        }
        _phase = _waitPhase;
        _token++;
    }

    private void OnIpiAcked(IpiAcked ack)
    {
        if (ack.Token != _waitToken || _acksPending == 0) return;
        if (--_acksPending > 0) return;
        if (_inException) _excWaitDone = true;
        else WaitDone();
    }

    private void WaitDone()
    {
        switch (_waitPhase)
        {
            case CpuPhase.FlushWait:
                FinishFlush();
                ContinueAfter(StepNs(), _afterAcks);
                break;
            case CpuPhase.MbWait:
                ContinueAfter(StepNs(), CpuPhase.MbBarrierC);
                break;
            case CpuPhase.RegWait:
                ContinueAfter(StepNs(), CpuPhase.RegReady);
                break;
            case CpuPhase.LamWait:
                ContinueAfter(StepNs(), CpuPhase.LamLock);
                break;
            case CpuPhase.PokeSyncWait:
                TextPokeSynced();
                break;
            default:
                Invariant.Assert(false, $"no IPI wait in phase {_waitPhase}");
                break;
        }
    }
}
