using Twin.Actors;
using Twin.Kernel.Events;

namespace Twin.Kernel.Mm;

/// <summary>One <c>struct mm_struct</c> (kernel-model §1.2): so far its owner and <c>mm_cpumask</c>.</summary>
public sealed class MmState
{
    private readonly ulong[] _cpumask = new ulong[Limits.CpumaskWords];

    public MmState(int mm) => Mm = mm;

    public int Mm { get; }

    public bool Created { get; private set; }

    /// <summary>tgid of the process that owns the mm.</summary>
    public int Tgid { get; private set; }

    public bool CpumaskTest(int cpu) => (_cpumask[cpu >> 6] & (1UL << (cpu & 63))) != 0;

    public int CpumaskWeight()
    {
        int n = 0;
        foreach (ulong w in _cpumask) n += System.Numerics.BitOperations.PopCount(w);
        return n;
    }

    public void Apply(MmCreated e)
    {
        Invariant.Assert(e.Mm == Mm && !Created, "an mm is created once");
        Invariant.Assert(e.Mm != KernelIds.InitMm, "init_mm is not created by a process");
        Created = true;
        Tgid = e.Tgid;
    }

    public void Apply(MmCpumaskSet e)
    {
        Invariant.Assert(Created && e.Mm == Mm, "cpumask of a live mm");
        Invariant.Assert(!CpumaskTest(e.Cpu), "cpumask_set_cpu is journaled only when it changes the mask");
        _cpumask[e.Cpu >> 6] |= 1UL << (e.Cpu & 63);
    }

    public void Hash(ref StateHasher h)
    {
        h.Add(Mm);
        h.Add(Created);
        h.Add(Tgid);
        foreach (ulong w in _cpumask) h.Add(w);
    }
}
