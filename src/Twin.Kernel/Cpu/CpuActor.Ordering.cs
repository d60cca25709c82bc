using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Sites;

namespace Twin.Kernel.Cpu;

// What orders this CPU's accesses: full barriers and core-serializing events, each at an ordering
// site (OrderingSite: the config may leave one out, a fault may skip one), and, in the
// weak-memory mode, the store buffer through which other CPUs see this CPU's stores of
// rq->curr->mm and rq->membarrier_state.
public sealed partial class CpuActor
{
    private readonly BufferedWord? _currMmSeen;
    private readonly BufferedWord? _rqStateSeen;

    /// <summary>The text write count at this CPU's last core-serializing event: later writes may be fetched stale.</summary>
    private long _textSeenSeq;

    /// <summary>
    /// The full barrier (smp_mb or an equivalent) of <paramref name="site"/>, unless the config
    /// leaves the site out (<c>omit</c>) or a skip-barrier fault fires there.
    /// </summary>
    private void Barrier(OrderingSite site)
    {
        if (Kernel.Omits(site)) return;
        var reason = (BarrierReason)SiteCatalog.ReasonOf(site);
        if (Kernel.Faults is { } f && f.SkipsBarrier(Id, reason, site))
        {
            Raise(new FaultInjected(Id, FaultKind.SkipBarrier, Id, (int)reason, 0));
            return;
        }
        Raise(new FullBarrier(Id, reason));
        DrainKernelStores();
    }

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
            Raise(new FaultInjected(Id, FaultKind.SkipSerialize, Id, (int)reason, 0));
            return;
        }
        Raise(new CoreSerialized(Id, reason));
        if (Kernel.Text is not null) _textSeenSeq = Text.WriteSeq;
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
    private void RqStateStored() => _rqStateSeen?.Store(Rq.MembarrierState, KernelStoreDue());

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
}
