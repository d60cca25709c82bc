using Twin.Actors;
using Twin.Kernel.Events;

namespace Twin.Kernel.Mm;

/// <summary>What a new mm starts with: dup_mm()'s copies from the parent, or a process's threads at boot.</summary>
/// <param name="Users">mm_users at creation (threads created with it at boot).</param>
public readonly record struct MmStart(int Tgid, int MembarrierState, int Users, int LamBits, bool LamLocked)
{
    /// <summary>The mm of a whole-run replay: its events say everything.</summary>
    public static MmStart Replica => default;
}

/// <summary>
/// One address space (stream "mm-N"): mm_cpumask, tlb_gen, membarrier_state, mm_users, riscv's
/// icache_stale_mask and x86 LAM. CPUs read it at any instant and write it by message; each write
/// is one event of this stream, and the writer hears back when the mm's owner asks for an answer.
/// </summary>
public sealed class MmActor : KernelActor
{
    private readonly MmStart _start;

    public MmActor(KernelModel kernel, int mm, MmStart start) : base(kernel, StreamOf(mm))
    {
        Id = mm;
        _start = start;
        State = new MmState(mm);
        kernel.Register(this);
        ApplyWith<MmCreated>(State.Apply);
        ApplyWith<MmCpumaskSet>(State.Apply);
        ApplyWith<MmCpumaskCleared>(State.Apply);
        ApplyWith<TlbGenIncremented>(State.Apply);
        ApplyWith<MembarrierStateChanged>(State.Apply);
        ApplyWith<MmUsersChanged>(State.Apply);
        ApplyWith<IcacheStaleMaskSet>(State.Apply);
        ApplyWith<IcacheStaleCleared>(State.Apply);
        ApplyWith<MmLamEnabled>(State.Apply);
        ApplyWith<MmLamLocked>(State.Apply);
    }

    public int Id { get; }

    public MmState State { get; }

    public static string StreamOf(int mm) => $"mm-{mm}";

    public override void HashState(ref StateHasher hasher) => State.Hash(ref hasher);

    /// <summary>mm_alloc() or dup_mm(): the mm exists, with what it starts with.</summary>
    protected override void Start()
    {
        Raise(new MmCreated(Id, _start.Tgid, _start.MembarrierState));
        for (int u = 1; u < _start.Users; u++) Raise(new MmUsersChanged(Id, u + 1));
        if (_start.LamBits != 0) Raise(new MmLamEnabled(Id, _start.LamBits));
        if (_start.LamLocked) Raise(new MmLamLocked(Id));
    }

    protected override void OnCommand(object message)
    {
        if (message is not MmWrite w)
        {
            Unhandled(message);
            return;
        }
        long reply = 0;
        switch (w.Op)
        {
            case MmOp.CpumaskSet:
                if (!State.CpumaskTest(w.Cpu)) Raise(new MmCpumaskSet(Id, w.Cpu));
                break;
            case MmOp.CpumaskClear:
                if (State.CpumaskTest(w.Cpu)) Raise(new MmCpumaskCleared(Id, w.Cpu));
                break;
            case MmOp.IncTlbGen:
                reply = State.TlbGen + 1;
                Raise(new TlbGenIncremented(Id, reply, FreedTables: w.Value != 0));
                break;
            case MmOp.OrMembarrierState:
                if ((State.MembarrierState | w.Value) != State.MembarrierState) Raise(new MembarrierStateChanged(Id, State.MembarrierState | w.Value));
                break;
            case MmOp.SetMembarrierState:
                Raise(new MembarrierStateChanged(Id, w.Value));
                break;
            case MmOp.UsersChanged:
                Raise(new MmUsersChanged(Id, State.Users + w.Value));
                break;
            case MmOp.IcacheStaleSetAll:
                Raise(new IcacheStaleMaskSet(Id));
                break;
            case MmOp.IcacheStaleClear:
                if (State.IcacheStaleMask.Test(w.Cpu)) Raise(new IcacheStaleCleared(Id, w.Cpu));
                break;
            case MmOp.EnableLam:
                Raise(new MmLamEnabled(Id, w.Value));
                break;
            case MmOp.LockLam:
                if (!State.LamLocked) Raise(new MmLamLocked(Id));
                break;
        }
        Answer(w.Token, reply);
    }
}
