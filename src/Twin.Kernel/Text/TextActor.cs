using Twin.Actors;
using Twin.Kernel.Events;

namespace Twin.Kernel.Text;

/// <summary>
/// Patchable kernel text and text_poke_bp's shared state (stream "text"). The patching CPU's
/// writes and P0–P4 steps are journaled here; text_mutex and the handlers' reference counts are
/// driver state (re-execution reproduces them), changed only by the messages CPUs send. CPUs
/// fetch instructions by reading it at an instant (<see cref="Fetch"/>).
/// </summary>
public sealed class TextActor : KernelActor
{
    public const string StreamName = "text";

    public TextActor(KernelModel kernel) : base(kernel, StreamName)
    {
        TextPokeConfig c = kernel.Config.TextPoke!;
        BugSet bugs = kernel.Config.Bugs;
        TextDesign design = (bugs & BugSet.B16) != 0 ? TextDesign.B16NoSync
            : (bugs & BugSet.B17) != 0 ? TextDesign.B17StackDescriptor : TextDesign.PerCpuRefs;
        State = new TextState(c.Sites, kernel.Config.Cpus, design);
        kernel.Text = this;
        ApplyWith<TextPokeStepped>(State.Apply);
    }

    public TextState State { get; }

    /// <summary>The CPU holding text_mutex, or -1.</summary>
    public int MutexOwner { get; private set; } = -1;

    public override void HashState(ref StateHasher hasher) => State.Hash(ref hasher);

    protected override void OnCommand(object message)
    {
        if (message is not TextOp op)
        {
            Unhandled(message);
            return;
        }
        long reply = 0;
        switch (op.Kind)
        {
            case TextOpKind.TryLock:
                if (MutexOwner < 0)
                {
                    MutexOwner = op.Cpu;
                    reply = 1;
                }
                break;
            case TextOpKind.Step:
                Invariant.Assert(MutexOwner == op.Cpu, "text_poke runs under text_mutex");
                int batch = op.Phase == TextPokePhase.Began ? State.Batches + 1 : State.Batch;
                Raise(new TextPokeStepped(op.Cpu, batch, op.Phase, op.Sites));
                if (op.Phase == TextPokePhase.Ended) MutexOwner = -1;
                break;
            case TextOpKind.TryGetRef:
                if (State.Refs[op.Cpu] > 0)
                {
                    State.Refs[op.Cpu]++;
                    reply = 1;
                }
                break;
            case TextOpKind.PutRef:
                PutOwnRef(op.Cpu);
                break;
            case TextOpKind.PutAllRefs:
                for (int c = 0; c < State.Refs.Length; c++) PutOwnRef(c);
                break;
            case TextOpKind.TryGetDescRef:
                if (State.DescRefs > 0)
                {
                    State.DescRefs++;
                    reply = 1;
                }
                break;
            case TextOpKind.PutDescRef:
                Invariant.Assert(State.DescRefs > 0, "a descriptor ref is put only when held");
                State.DescRefs--;
                break;
        }
        Answer(op.Token, reply);
    }

    private void PutOwnRef(int cpu)
    {
        Invariant.Assert(State.Refs[cpu] > 0, "a ref is put only when held");
        State.Refs[cpu]--;
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
}
