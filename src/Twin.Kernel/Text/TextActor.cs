using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Kernel.Events;

namespace Twin.Kernel.Text;

/// <summary>
/// Patchable kernel text and text_poke_bp's shared state (stream "text"). The patching CPU's
/// writes and P0–P4 steps are journaled here; the handlers' reference counts are driver state,
/// their use journaled by the CPUs (<see cref="Int3Handled"/>). CPUs act on it directly, each
/// call an atomic step on shared memory, as with an mm.
/// </summary>
public sealed class TextActor : PersistentActor
{
    public const string Stream = "text";

    public TextActor(Kernel kernel)
    {
        TextPokeConfig c = kernel.Config.TextPoke!;
        BugSet bugs = kernel.Config.Bugs;
        TextDesign design = (bugs & BugSet.B16) != 0 ? TextDesign.B16NoSync
            : (bugs & BugSet.B17) != 0 ? TextDesign.B17StackDescriptor : TextDesign.PerCpuRefs;
        State = new TextState(c.Sites, kernel.Config.Cpus, design);
        kernel.Text = this;
        Recover<TextPokeStepped>(State.Apply);
    }

    public TextState State { get; }

    /// <summary>The CPU holding text_mutex, or -1 (a sleeping lock; waiters retry).</summary>
    public int MutexOwner { get; private set; } = -1;

    public override string PersistenceId => Stream;

    public override void HashState(ref StateHasher hasher) => State.Hash(ref hasher);

    public bool TryLock(int cpu)
    {
        if (MutexOwner >= 0) return false;
        MutexOwner = cpu;
        return true;
    }

    /// <summary>A step of the batch on <paramref name="cpu"/>; P0 starts a new batch.</summary>
    public void Step(int cpu, TextPokePhase phase, int sites)
    {
        Invariant.Assert(MutexOwner == cpu, "text_poke runs under text_mutex");
        int batch = phase == TextPokePhase.Began ? State.Batches + 1 : State.Batch;
        Persist(new TextPokeStepped(cpu, batch, phase, sites));
        if (phase == TextPokePhase.Ended) MutexOwner = -1;
    }

    /// <summary>
    /// What CPU <paramref name="cpu"/> fetches at <paramref name="site"/>: a byte written after the
    /// CPU's last core-serializing event (<paramref name="serializedSeq"/>) may come from its
    /// prefetch or stale decode, old or new, each byte on its own (Intel SDM, cross-modifying code).
    /// </summary>
    public (int Byte0, int Tail) Fetch(int site, long serializedSeq, DeterministicRandom random)
    {
        TextState s = State;
        int b0 = s.Byte0Seq[site] <= serializedSeq || random.Chance(0.5) ? s.Byte0[site] : s.Byte0Prev[site];
        int tail = s.TailSeq[site] <= serializedSeq || random.Chance(0.5) ? s.Tail[site] : s.TailPrev[site];
        return (b0, tail);
    }

    /// <summary><c>raw_atomic_inc_not_zero(this_cpu_ptr(&amp;text_poke_array_refs))</c>.</summary>
    public bool TryGetRef(int cpu)
    {
        if (State.Refs[cpu] == 0) return false;
        State.Refs[cpu]++;
        return true;
    }

    /// <summary><c>atomic_dec(refs)</c> by a handler, or P4's <c>atomic_dec_and_test</c>: true when it reached 0.</summary>
    public bool PutRef(int cpu)
    {
        Invariant.Assert(State.Refs[cpu] > 0, "a ref is put only when held");
        return --State.Refs[cpu] == 0;
    }

    /// <summary>B17: <c>atomic_inc_not_zero(&amp;desc->refs)</c> on whatever the stack slot holds now.</summary>
    public bool TryGetDescRef()
    {
        if (State.DescRefs == 0) return false;
        State.DescRefs++;
        return true;
    }

    public bool PutDescRef()
    {
        Invariant.Assert(State.DescRefs > 0, "a descriptor ref is put only when held");
        return --State.DescRefs == 0;
    }
}
