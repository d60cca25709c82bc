using Twin.Actors;
using Twin.Kernel.Events;

namespace Twin.Kernel.Mm;

/// <summary>One <c>struct mm_struct</c> with x86 <c>mm->context</c> (kernel-model §1.2).</summary>
public sealed class MmState
{
    public MmState(int mm) => Mm = mm;

    public int Mm { get; }

    public bool Created { get; private set; }

    /// <summary>tgid of the process that created the mm.</summary>
    public int Tgid { get; private set; }

    /// <summary><c>mm_users</c>: threads using the mm.</summary>
    public int Users { get; private set; }

    public CpuMask Cpumask { get; private set; }

    /// <summary><c>context.tlb_gen</c>: only grows.</summary>
    public long TlbGen { get; private set; }

    /// <summary><c>membarrier_state</c> bits (<see cref="Membarrier.MembarrierState"/>).</summary>
    public int MembarrierState { get; private set; }

    /// <summary>riscv <c>context.icache_stale_mask</c>.</summary>
    public CpuMask IcacheStaleMask { get; private set; }

    /// <summary>x86 <c>context.lam_cr3_mask</c> / <c>untag_mask</c>, as LAM tag bits: 0 (off) or 6 (LAM_U57).</summary>
    public int LamBits { get; private set; }

    /// <summary>x86 <c>MM_CONTEXT_LOCK_LAM</c>: LAM can no longer change for this mm.</summary>
    public bool LamLocked { get; private set; }

    public bool CpumaskTest(int cpu) => Cpumask.Test(cpu);

    public void Apply(MmLamEnabled e)
    {
        Invariant.Assert(Created && e.Mm == Mm, "LAM of a live mm");
        Invariant.Assert(LamBits == 0 && !LamLocked, "LAM goes from off to on once, and only while unlocked (L1)");
        Invariant.Assert(e.Bits == 6, "LAM_U57: 6 tag bits");
        LamBits = e.Bits;
    }

    public void Apply(MmLamLocked e)
    {
        Invariant.Assert(Created && e.Mm == Mm && !LamLocked, "MM_CONTEXT_LOCK_LAM is set once and never cleared");
        LamLocked = true;
    }

    public void Apply(MmCreated e)
    {
        Invariant.Assert(e.Mm == Mm && !Created, "an mm is created once");
        Invariant.Assert(e.Mm != KernelIds.InitMm, "init_mm is not created by a process");
        Created = true;
        Tgid = e.Tgid;
        Users = 1;
        TlbGen = 1;
        MembarrierState = e.MembarrierState;
    }

    public void Apply(MmCpumaskSet e)
    {
        Invariant.Assert(Created && e.Mm == Mm, "cpumask of a live mm");
        Invariant.Assert(!Cpumask.Test(e.Cpu), "cpumask_set_cpu is journaled only when it changes the mask");
        Cpumask = Cpumask.With(e.Cpu);
    }

    public void Apply(MmCpumaskCleared e)
    {
        Invariant.Assert(Cpumask.Test(e.Cpu), "only a CPU in the mask is cleared");
        Cpumask = Cpumask.Without(e.Cpu);
    }

    public void Apply(TlbGenIncremented e)
    {
        Invariant.Assert(e.TlbGen == TlbGen + 1, "inc_mm_tlb_gen adds one: tlb_gen never goes back");
        TlbGen = e.TlbGen;
    }

    public void Apply(MembarrierStateChanged e)
    {
        Invariant.Assert(e.State >= 0 && e.State < 256, "membarrier_state has 8 bits");
        MembarrierState = e.State;
    }

    public void Apply(MmUsersChanged e)
    {
        Invariant.Assert(e.Users >= 0 && Math.Abs(e.Users - Users) == 1, "mm_users moves by one");
        Users = e.Users;
    }

    public void Apply(IcacheStaleMaskSet e) => IcacheStaleMask = new CpuMask(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue);

    public void Apply(IcacheStaleCleared e) => IcacheStaleMask = IcacheStaleMask.Without(e.Cpu);

    public void Hash(ref StateHasher h)
    {
        h.Add(Mm);
        h.Add(Created);
        h.Add(Tgid);
        h.Add(Users);
        h.Add(Cpumask.W0);
        h.Add(Cpumask.W1);
        h.Add(Cpumask.W2);
        h.Add(Cpumask.W3);
        h.Add(TlbGen);
        h.Add(MembarrierState);
        h.Add(LamBits);
        h.Add(LamLocked);
        h.Add(IcacheStaleMask.W0);
        h.Add(IcacheStaleMask.W1);
        h.Add(IcacheStaleMask.W2);
        h.Add(IcacheStaleMask.W3);
    }
}
