using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Ipi;
using Twin.Kernel.Lam;
using Twin.Kernel.Sites;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// The cross-call handlers (kernel-model §1.4): membarrier's ipi_mb, ipi_sync_core, ipi_rseq and
// ipi_sync_rq_state (kernel/sched/membarrier.c), flush_tlb_func (arch/x86/mm/tlb.c),
// enable_lam_func (arch/x86/kernel/process_64.c) and text_poke's do_sync_core
// (arch/x86/kernel/alternative.c). All but ipi_sync_rq_state's store touch only this CPU, so they
// run in one go.
public sealed partial class CpuActor
{
    /// <summary>Runs the cross-call queued on csd <paramref name="slot"/> (read at its arrival), then unlocks the csd.</summary>
    private void RunIpi(int slot)
    {
        IpiSent sent = CsdCall(slot);
        Invariant.Assert(sent.To == Id, "an IPI runs on its target");
        RunHandler(sent.Kind, sent.Mm, sent.TlbGen, inIrq: true);
        Raise(new IpiHandled(Id, sent.Ipi, sent.Kind, sent.From));
        UnlockCsd(slot);
    }

    /// <summary>csd_unlock(): a posted store to the csd; the sender waiting in csd_lock_wait() hears of it.</summary>
    private void UnlockCsd(int slot) => Kernel.Csd(slot).Ref.Tell(new CsdUnlock(), Self);

    /// <summary>on_each_cpu_mask() / smp_call_function_single() on the calling CPU: the handler runs here, interrupts off.</summary>
    private void RunLocalHandler(IpiKind kind, int mm, long gen)
    {
        bool wasOff = _irqsOff;
        _irqsOff = true;
        RunHandler(kind, mm, gen, inIrq: false);
        Raise(new IpiHandled(Id, 0, kind, Id));
        _irqsOff = wasOff;
    }

    /// <summary>The handler of <paramref name="kind"/> that stores nowhere but this CPU (see <see cref="HandlerStores"/>).</summary>
    private void RunHandler(IpiKind kind, int mm, long gen, bool inIrq)
    {
        switch (kind)
        {
            case IpiKind.Mb:
                Barrier(OrderingSite.IpiMb); // ipi_mb(): smp_mb()
                break;
            case IpiKind.SyncCore:
                IpiSyncCore(inIrq);
                break;
            case IpiKind.Rseq:
                IpiRseq();
                break;
            case IpiKind.SyncRqState:
                // ipi_sync_rq_state on a CPU whose current->mm is another mm: nothing to do. (The
                // store, when there is one, is IpiSyncRqState's; the caller's own, the registration's.)
                Invariant.Assert(KernelIds.IsIdle(Curr) || CurrentMm != mm, "a runqueue store runs through IpiSyncRqState");
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

    /// <summary>
    /// ipi_sync_core(): <c>smp_mb()</c> first, then sync_core_before_usermode(). B4: the old x86
    /// version returned early in interrupt context, trusting the IRET that may never come.
    /// </summary>
    private void IpiSyncCore(bool inIrq)
    {
        Barrier(OrderingSite.IpiSyncCoreBarrier);
        if (!(inIrq && Kernel.Config.Has(BugSet.B4) && _arch.HasSysret)) SyncCoreBeforeUsermode(OrderingSite.IpiSyncCoreSerialize);
    }

    /// <summary>ipi_rseq(): <c>smp_mb()</c>, then rseq_preempt(current) aborts its rseq critical section.</summary>
    private void IpiRseq()
    {
        Barrier(OrderingSite.IpiRseqBarrier);
        if (KernelIds.IsIdle(Curr)) return;
        TaskRuntime t = Current;
        if (!t.InRseqCs) return;
        t.InRseqCs = false;
        Raise(new RseqAborted(Id, Curr, ByIpi: true));
    }
}
