using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Ipi;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// Interrupts: the tick and IPIs. From user mode an interrupt enters the kernel, runs its handler
// and leaves through the IRQ exit path, which may reschedule (then the task switched in returns
// by its own path: the B4/B5 window); else it IRETs back. In the kernel the handler runs at once
// if interrupts are on, and waits in a queue until they are back on otherwise.
public sealed partial class CpuActor
{
    private long _nextWaitToken;
    private CpuPhase _waitPhase;

    private void OnTick(SchedTick _)
    {
        if (_inException)
        {
            _excTickDue = true;
            return;
        }
        if (State.Mode == CpuMode.Idle || _phase == CpuPhase.Idle) return;
        if (State.Mode == CpuMode.User)
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
        if (State.Mode == CpuMode.User) InterruptFromUser(arrived.Slot);
        else HandleIpiInKernel(arrived.Slot);
    }

    /// <summary>The pending-interrupt slot of a spurious interrupt (no csd to run).</summary>
    private const int SpuriousSlot = -2;

    /// <summary>A spurious interrupt: entry and exit with no handler; an idle CPU just goes back to idle.</summary>
    private void OnSpuriousIrq(SpuriousIrq irq)
    {
        if (State.Mode == CpuMode.Idle || _phase == CpuPhase.Idle) return;
        if (irq.Storm) Persist(new FaultInjected(Id, FaultKind.IrqStorm, Id, 0, 0));
        if (HeldByException(SpuriousSlot)) return;
        if (_irqsOff)
        {
            _pendingIpis.Enqueue(SpuriousSlot);
            return;
        }
        if (State.Mode == CpuMode.User) InterruptFromUser(SpuriousSlot);
        else InterruptReturnToKernel();
    }

    /// <summary>An interrupt taken in user mode: kernel entry, handler, IRQ exit (reschedule or IRET).</summary>
    /// <param name="ipiSlot">The IPI to handle, -1 for the tick (which always asks to reschedule), <see cref="SpuriousSlot"/> for none.</param>
    private void InterruptFromUser(int ipiSlot)
    {
        TaskRuntime task = Current;
        long remaining = Math.Max(0, _workUntilNs - Context.NowNs);
        _token++; // the end of the interrupted user work is re-armed below
        EnterKernel(EntryReason.Interrupt);
        if (ipiSlot >= 0) RunIpi(ipiSlot);
        bool resched = ipiSlot == -1 || _needResched || Context.Random.Chance(_kernel.Config.Timing.ReschedOnIrqExit);
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
        if (slot != SpuriousSlot) RunIpi(slot);
        InterruptReturnToKernel();
    }

    /// <summary>Returning from an interrupt to kernel code: x86 IRET and arm64/powerpc exception return serialize; riscv sret does not.</summary>
    private void InterruptReturnToKernel()
    {
        if (_arch.HasSysret) Serialize(CoreSerializeReason.Iret);
        else if (_arch.ExceptionReturnSerializes) Serialize(CoreSerializeReason.ExceptionReturn);
    }

    private void RunIpi(int slot)
    {
        IpiActor ipi = _kernel.IpiInSlot(slot);
        IpiSent sent = ipi.Current!.Value;
        Invariant.Assert(sent.To == Id, "an IPI runs on its target");
        RunHandler(sent.Kind, sent.Mm, sent.TlbGen, inIrq: true);
        Persist(new IpiHandled(Id, sent.Ipi, sent.Kind, sent.From));
        ipi.Complete();
    }

    /// <summary>on_each_cpu_mask / smp_call_function_single on the calling CPU: the handler runs here, interrupts off.</summary>
    private void RunLocalHandler(IpiKind kind, int mm, long gen)
    {
        bool wasOff = _irqsOff;
        _irqsOff = true;
        RunHandler(kind, mm, gen, inIrq: false);
        Persist(new IpiHandled(Id, 0, kind, Id));
        _irqsOff = wasOff;
    }

    /// <summary>The cross-call handlers of kernel-model §1.4.</summary>
    private void RunHandler(IpiKind kind, int mm, long gen, bool inIrq)
    {
        switch (kind)
        {
            case IpiKind.Mb:
                Barrier(BarrierReason.IpiHandler);
                break;
            case IpiKind.SyncCore:
                // ipi_sync_core: smp_mb() first, then sync_core_before_usermode(). B4: the old x86
                // version returned early in interrupt context, trusting the IRET that may never come.
                Barrier(BarrierReason.IpiHandler);
                if (!(inIrq && _kernel.Config.Has(BugSet.B4) && _arch.HasSysret)) SyncCoreBeforeUsermode(CoreSerializeReason.IpiSyncCore);
                break;
            case IpiKind.Rseq:
                Barrier(BarrierReason.IpiHandler);
                if (!KernelIds.IsIdle(State.Curr))
                {
                    TaskRuntime t = Current;
                    if (t.InRseqCs)
                    {
                        t.InRseqCs = false;
                        Persist(new RseqAborted(Id, State.Curr, ByIpi: true));
                    }
                }
                break;
            case IpiKind.SyncRqState:
                // ipi_sync_rq_state: only if current->mm is the registering mm.
                if (!KernelIds.IsIdle(State.Curr) && CurrentMm == mm)
                {
                    Persist(new RqMembarrierStateSet(Id, _kernel.Mm(mm).State.MembarrierState, RqStateReason.IpiSyncRqState));
                    Barrier(BarrierReason.IpiHandler);
                }
                break;
            case IpiKind.FlushTlb:
                FlushTlbFunc(mm, gen);
                break;
            case IpiKind.EnableLam:
                EnableLamFunc(mm, inIrq ? LamLoadReason.EnableLamIpi : LamLoadReason.EnableLamLocal);
                break;
            case IpiKind.TextPokeSync:
                Serialize(CoreSerializeReason.TextPokeSync); // do_sync_core(): sync_core()
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

    private void SendIpi(int to, IpiKind kind, int mm, long gen)
    {
        // Cross-calls go to cpu_online_mask only.
        if (!_kernel.Cpus[to].State.Online) return;
        TimingConfig t = _kernel.Config.Timing;
        _acksPending++;
        long latency = Context.Random.NextLong(t.IpiNsMin, t.IpiNsMax);
        if (_kernel.Faults is { } faults) latency = InjectIpiFault(faults, to, kind, latency);
        _kernel.SendIpi(Id, to, kind, mm, gen, _waitToken, latency);
    }

    /// <summary>Applies the first IPI fault of the plan that fires for this IPI; returns the latency it ends up with.</summary>
    private long InjectIpiFault(FaultInjector faults, int to, IpiKind kind, long latency)
    {
        if (faults.OnIpiSend(to, kind, out long ns) is not { } rule) return latency;
        Persist(new FaultInjected(Id, rule.Kind, to, (int)kind, ns));
        switch (rule.Kind)
        {
            case FaultKind.IpiDrop:
                // The interrupt is lost; the csd stays queued until csd_lock_wait() gives up
                // waiting and re-sends the IPI (kernel/smp.c, CSD lock timeout).
            case FaultKind.IpiDelay:
                return latency + ns;
            case FaultKind.IpiDuplicate:
                Context.System.ScheduleTellOnce(latency + ns, _kernel.CpuRefs[to], new SpuriousIrq(Storm: false));
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
