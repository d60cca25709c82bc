using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Kernel.Events;

namespace Twin.Kernel.Mm;

/// <summary>
/// One address space (stream "mm-N"). CPUs act on it through the kernel's own operations, each
/// an atomic step on shared memory journaled in this stream.
/// </summary>
public sealed class MmActor : PersistentActor
{
    private readonly int _tgidAtCreation;
    private readonly int _stateAtCreation;

    /// <param name="tgid">Owner, journaled at creation; 0 when the actor is rebuilt by replay.</param>
    /// <param name="membarrierState">State copied from the parent by fork (dup_mm), else 0.</param>
    public MmActor(Kernel kernel, int mm, int tgid, int membarrierState = 0)
    {
        Id = mm;
        _tgidAtCreation = tgid;
        _stateAtCreation = membarrierState;
        State = new MmState(mm);
        kernel.Register(this);
        Recover<MmCreated>(State.Apply);
        Recover<MmCpumaskSet>(State.Apply);
        Recover<MmCpumaskCleared>(State.Apply);
        Recover<TlbGenIncremented>(State.Apply);
        Recover<MembarrierStateChanged>(State.Apply);
        Recover<MmUsersChanged>(State.Apply);
        Recover<IcacheStaleMaskSet>(State.Apply);
        Recover<IcacheStaleCleared>(State.Apply);
        Recover<MmLamEnabled>(State.Apply);
        Recover<MmLamLocked>(State.Apply);
    }

    public int Id { get; }

    public MmState State { get; }

    // Formatted once: the id is read on every persist and at every state-hash checkpoint.
    public override string PersistenceId => _persistenceId ??= StreamOf(Id);

    private string? _persistenceId;

    public static string StreamOf(int mm) => $"mm-{mm}";

    public override void HashState(ref StateHasher hasher) => State.Hash(ref hasher);

    /// <summary><c>cpumask_set_cpu(cpu, mm_cpumask(mm))</c>, journaled when it changes the mask.</summary>
    public void CpumaskSetCpu(int cpu)
    {
        if (!State.CpumaskTest(cpu)) Persist(new MmCpumaskSet(Id, cpu));
    }

    /// <summary><c>cpumask_clear_cpu(cpu, mm_cpumask(mm))</c> from flush_tlb_func.</summary>
    public void CpumaskClearCpu(int cpu)
    {
        if (State.CpumaskTest(cpu)) Persist(new MmCpumaskCleared(Id, cpu));
    }

    /// <summary><c>inc_mm_tlb_gen()</c>: returns the new generation.</summary>
    public long IncTlbGen(bool freedTables)
    {
        Persist(new TlbGenIncremented(Id, State.TlbGen + 1, freedTables));
        return State.TlbGen;
    }

    /// <summary><c>atomic_or(bits, &amp;mm->membarrier_state)</c> (or the reset by exec when <paramref name="replace"/>).</summary>
    public void SetMembarrierState(int bits, bool replace = false)
    {
        int next = replace ? bits : State.MembarrierState | bits;
        if (next != State.MembarrierState || replace) Persist(new MembarrierStateChanged(Id, next));
    }

    public void UsersChanged(int delta) => Persist(new MmUsersChanged(Id, State.Users + delta));

    public void SetIcacheStaleMask() => Persist(new IcacheStaleMaskSet(Id));

    public void ClearIcacheStale(int cpu)
    {
        if (State.IcacheStaleMask.Test(cpu)) Persist(new IcacheStaleCleared(Id, cpu));
    }

    /// <summary><c>mm_enable_lam()</c>'s writes of lam_cr3_mask and untag_mask (or <c>dup_lam()</c> by fork).</summary>
    public void EnableLam(int bits) => Persist(new MmLamEnabled(Id, bits));

    /// <summary><c>set_bit(MM_CONTEXT_LOCK_LAM)</c>, journaled when it changes the flag.</summary>
    public void LockLam()
    {
        if (!State.LamLocked) Persist(new MmLamLocked(Id));
    }

    protected override void PreStart()
    {
        if (LastSequenceNr == 0) Persist(new MmCreated(Id, _tgidAtCreation, _stateAtCreation));
    }
}
