using Twin.Persistence.Codec;
using static Twin.Kernel.Events.EventEnums;

namespace Twin.Kernel.Events;

// Events of "mm-N" streams: struct mm_struct and x86 mm->context. Codes 30–49.
// Layout: each field in order, ints and longs as zigzag varints, enums as a byte.

/// <summary>An address space was created for process <paramref name="Tgid"/> (at boot, or by fork with
/// the parent's membarrier_state copied by dup_mm).</summary>
public readonly record struct MmCreated(int Mm, int Tgid, int MembarrierState) : IJournaledEvent<MmCreated>
{
    public static EventManifest Manifest { get; } = new(30, 2, nameof(MmCreated));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Mm);
        w.WriteVarInt(Tgid);
        w.WriteVarInt(MembarrierState);
    }

    public static MmCreated Read(ref PayloadReader r)
    {
        var mm_ = r.ReadInt32();
        var tgid_ = r.ReadInt32();
        var membarrierState_ = r.ReadInt32();
        return new(mm_, tgid_, membarrierState_);
    }
}

/// <summary><c>cpumask_set_cpu(cpu, mm_cpumask(next))</c> in <c>switch_mm_irqs_off()</c>; on x86 not
/// cleared on switch-away, only by a later flush (§1.2).</summary>
public readonly record struct MmCpumaskSet(int Mm, int Cpu) : IJournaledEvent<MmCpumaskSet>
{
    public static EventManifest Manifest { get; } = new(31, 1, nameof(MmCpumaskSet));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Mm);
        w.WriteVarInt(Cpu);
    }

    public static MmCpumaskSet Read(ref PayloadReader r)
    {
        var mm_ = r.ReadInt32();
        var cpu_ = r.ReadInt32();
        return new(mm_, cpu_);
    }
}

/// <summary><c>flush_tlb_func()</c> found the mm not loaded: "The CPU was left in the mm_cpumask of the
/// target mm. Clear it."</summary>
public readonly record struct MmCpumaskCleared(int Mm, int Cpu) : IJournaledEvent<MmCpumaskCleared>
{
    public static EventManifest Manifest { get; } = new(32, 1, nameof(MmCpumaskCleared));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Mm);
        w.WriteVarInt(Cpu);
    }

    public static MmCpumaskCleared Read(ref PayloadReader r)
    {
        var mm_ = r.ReadInt32();
        var cpu_ = r.ReadInt32();
        return new(mm_, cpu_);
    }
}

/// <summary><c>inc_mm_tlb_gen()</c>: page tables of the mm changed (mprotect; munmap frees
/// tables).</summary>
public readonly record struct TlbGenIncremented(int Mm, long TlbGen, bool FreedTables) : IJournaledEvent<TlbGenIncremented>
{
    public static EventManifest Manifest { get; } = new(33, 1, nameof(TlbGenIncremented));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Mm);
        w.WriteVarInt(TlbGen);
        w.WriteBool(FreedTables);
    }

    public static TlbGenIncremented Read(ref PayloadReader r)
    {
        var mm_ = r.ReadInt32();
        var tlbGen_ = r.ReadVarInt();
        var freedTables_ = r.ReadBool();
        return new(mm_, tlbGen_, freedTables_);
    }
}

/// <summary><c>mm->membarrier_state</c> took a new value (atomic_or at registration, reset by
/// exec).</summary>
public readonly record struct MembarrierStateChanged(int Mm, int State) : IJournaledEvent<MembarrierStateChanged>
{
    public static EventManifest Manifest { get; } = new(34, 1, nameof(MembarrierStateChanged));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Mm);
        w.WriteVarInt(State);
    }

    public static MembarrierStateChanged Read(ref PayloadReader r)
    {
        var mm_ = r.ReadInt32();
        var state_ = r.ReadInt32();
        return new(mm_, state_);
    }
}

/// <summary><c>mm_users</c> changed (thread created, exit_mm).</summary>
public readonly record struct MmUsersChanged(int Mm, int Users) : IJournaledEvent<MmUsersChanged>
{
    public static EventManifest Manifest { get; } = new(35, 1, nameof(MmUsersChanged));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Mm);
        w.WriteVarInt(Users);
    }

    public static MmUsersChanged Read(ref PayloadReader r)
    {
        var mm_ = r.ReadInt32();
        var users_ = r.ReadInt32();
        return new(mm_, users_);
    }
}

/// <summary>riscv <c>prepare_sync_core_cmd()</c>: every CPU must FENCE.I at its next switch_mm to the
/// mm.</summary>
public readonly record struct IcacheStaleMaskSet(int Mm) : IJournaledEvent<IcacheStaleMaskSet>
{
    public static EventManifest Manifest { get; } = new(36, 1, nameof(IcacheStaleMaskSet));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Mm);
    }

    public static IcacheStaleMaskSet Read(ref PayloadReader r) => new(r.ReadInt32());
}

/// <summary>riscv: the CPU ran FENCE.I in switch_mm and left the mm's icache_stale_mask.</summary>
public readonly record struct IcacheStaleCleared(int Mm, int Cpu) : IJournaledEvent<IcacheStaleCleared>
{
    public static EventManifest Manifest { get; } = new(37, 1, nameof(IcacheStaleCleared));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Mm);
        w.WriteVarInt(Cpu);
    }

    public static IcacheStaleCleared Read(ref PayloadReader r)
    {
        var mm_ = r.ReadInt32();
        var cpu_ = r.ReadInt32();
        return new(mm_, cpu_);
    }
}
