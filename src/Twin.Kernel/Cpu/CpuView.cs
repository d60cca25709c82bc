namespace Twin.Kernel.Cpu;

/// <summary>
/// What another CPU loads from this one: its <c>cpu_tlbstate</c> (should_flush_tlb()), whether it
/// is online, its <c>rq->curr->mm</c> and <c>rq->membarrier_state</c> as membarrier's samples
/// see them (through its store buffer in the weak-memory mode), and RCU's view of it. Read-only:
/// nothing writes another CPU's state but that CPU.
/// </summary>
public readonly struct CpuView(CpuActor cpu)
{
    /// <summary><c>cpu_tlbstate_shared.is_lazy</c>.</summary>
    public bool IsLazy => cpu.State.IsLazy;

    /// <summary><c>cpu_tlbstate.loaded_mm == LOADED_MM_SWITCHING</c>.</summary>
    public bool Switching => cpu.State.Switching;

    /// <summary><c>cpu_tlbstate.loaded_mm</c>.</summary>
    public int LoadedMm => cpu.State.LoadedMm;

    /// <summary>In <c>cpu_online_mask</c>.</summary>
    public bool Online => cpu.State.Online;

    /// <summary>Runs its idle task, kernel code or user code.</summary>
    public CpuMode Mode => cpu.Mode;

    /// <summary>Context switches so far (RCU's quiescent states).</summary>
    public long QuiescentStates => cpu.QuiescentStates;

    /// <summary>It waits in synchronize_rcu() itself.</summary>
    public bool InRcuWait => cpu.InRcuWait;

    /// <summary>text_poke's syncs to it may be deferred (task isolation).</summary>
    public bool DefersSyncs => cpu.DefersSyncs;

    /// <summary>Its <c>rq->curr->mm</c> as CPU <paramref name="reader"/> loads it at <paramref name="nowNs"/>.</summary>
    public int CurrMm(int reader, long nowNs) => cpu.SampleCurrMm(reader, nowNs);

    /// <summary>Its <c>rq->membarrier_state</c> as CPU <paramref name="reader"/> loads it at <paramref name="nowNs"/>.</summary>
    public int RqMembarrierState(int reader, long nowNs) => cpu.SampleRqState(reader, nowNs);
}
