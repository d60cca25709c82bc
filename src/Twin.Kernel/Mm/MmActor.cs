using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Kernel.Events;

namespace Twin.Kernel.Mm;

/// <summary>One address space (stream "mm-N"). CPUs change it through the kernel's own operations.</summary>
public sealed class MmActor : PersistentActor
{
    private readonly int _tgidAtCreation;

    /// <param name="tgid">Owner, journaled at creation; 0 when the actor is rebuilt by replay.</param>
    public MmActor(Kernel kernel, int mm, int tgid)
    {
        Id = mm;
        _tgidAtCreation = tgid;
        State = new MmState(mm);
        kernel.Register(this);
        Recover<MmCreated>(State.Apply);
        Recover<MmCpumaskSet>(State.Apply);
    }

    public int Id { get; }

    public MmState State { get; }

    public override string PersistenceId => StreamOf(Id);

    public static string StreamOf(int mm) => $"mm-{mm}";

    public override void HashState(ref StateHasher hasher) => State.Hash(ref hasher);

    /// <summary><c>cpumask_set_cpu(cpu, mm_cpumask(mm))</c>, journaled when it changes the mask.</summary>
    public void CpumaskSetCpu(int cpu)
    {
        if (!State.CpumaskTest(cpu)) Persist(new MmCpumaskSet(Id, cpu));
    }

    protected override void PreStart()
    {
        if (LastSequenceNr == 0) Persist(new MmCreated(Id, _tgidAtCreation));
    }
}
