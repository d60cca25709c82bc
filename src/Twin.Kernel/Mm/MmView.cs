namespace Twin.Kernel.Mm;

/// <summary>
/// A CPU's loads from an mm it does not own: <c>READ_ONCE(mm->context.tlb_gen)</c>,
/// <c>mm_cpumask(mm)</c>, <c>atomic_read(&amp;mm->membarrier_state)</c>, ... at this instant. Read-only:
/// a store to the mm is a message to its actor (<see cref="MmWrite"/>), so loads and stores look
/// different in a kernel path.
/// </summary>
public readonly struct MmView(MmState state)
{
    public int Mm => state.Mm;

    /// <summary><c>mm_users</c>.</summary>
    public int Users => state.Users;

    /// <summary><c>mm_cpumask(mm)</c>.</summary>
    public CpuMask Cpumask => state.Cpumask;

    public bool CpumaskTest(int cpu) => state.CpumaskTest(cpu);

    /// <summary><c>mm->context.tlb_gen</c>.</summary>
    public long TlbGen => state.TlbGen;

    /// <summary><c>mm->membarrier_state</c>.</summary>
    public int MembarrierState => state.MembarrierState;

    /// <summary>riscv <c>mm->context.icache_stale_mask</c>.</summary>
    public CpuMask IcacheStaleMask => state.IcacheStaleMask;

    /// <summary>x86 LAM: the mm's tag bits (0 or 6).</summary>
    public int LamBits => state.LamBits;

    /// <summary>x86 <c>MM_CONTEXT_LOCK_LAM</c>.</summary>
    public bool LamLocked => state.LamLocked;
}
