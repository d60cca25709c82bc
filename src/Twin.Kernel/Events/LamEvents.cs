using Twin.Persistence.Codec;
using static Twin.Kernel.Events.EventEnums;

namespace Twin.Kernel.Events;

// x86 LAM (kernel-model §7.1). mm stream: codes 39–40; cpu stream: codes 54–56.
// Layout: each field in order, ints and longs as zigzag varints, enums as a byte.

/// <summary><c>mm_enable_lam()</c>: <c>lam_cr3_mask = X86_CR3_LAM_U57</c> and the untag mask for
/// <paramref name="Bits"/> tag bits (6) are set in mm->context, before the enable IPIs.</summary>
public readonly record struct MmLamEnabled(int Mm, int Bits) : IJournaledEvent<MmLamEnabled>
{
    public static EventManifest Manifest { get; } = new(39, 1, nameof(MmLamEnabled));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Mm);
        w.WriteVarInt(Bits);
    }

    public static MmLamEnabled Read(ref PayloadReader r)
    {
        var mm_ = r.ReadInt32();
        var bits_ = r.ReadInt32();
        return new(mm_, bits_);
    }
}

/// <summary><c>set_bit(MM_CONTEXT_LOCK_LAM)</c>: by <c>copy_thread()</c> for a CLONE_VM thread, or
/// after a successful enable. From here on LAM cannot change for this mm.</summary>
public readonly record struct MmLamLocked(int Mm) : IJournaledEvent<MmLamLocked>
{
    public static EventManifest Manifest { get; } = new(40, 1, nameof(MmLamLocked));

    public void Write(ref PayloadWriter w) => w.WriteVarInt(Mm);

    public static MmLamLocked Read(ref PayloadReader r) => new(r.ReadInt32());
}

/// <summary>The CPU wrote <paramref name="Cr3Bits"/> LAM bits into CR3 and <paramref name="UntagBits"/>
/// into <c>cpu_tlbstate.lam</c> / the per-CPU untag mask, for <paramref name="Mm"/> (0 or 6 each;
/// the kernel derives both from one read, L4).</summary>
public readonly record struct CpuLamLoaded(int Cpu, int Mm, int Cr3Bits, int UntagBits, LamLoadReason Reason) : IJournaledEvent<CpuLamLoaded>
{
    public static EventManifest Manifest { get; } = new(54, 1, nameof(CpuLamLoaded));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Mm);
        w.WriteVarInt(Cr3Bits);
        w.WriteVarInt(UntagBits);
        w.WriteByte((byte)Reason);
    }

    public static CpuLamLoaded Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        var cr3_ = r.ReadInt32();
        var untag_ = r.ReadInt32();
        var reason_ = ReadEnum<LamLoadReason>(ref r, (byte)LamLoadReason.EnableLamLocal, "Reason");
        return new(cpu_, mm_, cr3_, untag_, reason_);
    }
}

/// <summary><c>arch_prctl(Option, Arg)</c> by <paramref name="Task"/> returned <paramref name="Ret"/>
/// (a value, or -errno).</summary>
public readonly record struct ArchPrctlReturned(int Cpu, int Task, int Option, long Arg, long Ret) : IJournaledEvent<ArchPrctlReturned>
{
    public static EventManifest Manifest { get; } = new(55, 1, nameof(ArchPrctlReturned));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteVarInt(Option);
        w.WriteVarInt(Arg);
        w.WriteVarInt(Ret);
    }

    public static ArchPrctlReturned Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var option_ = r.ReadInt32();
        var arg_ = r.ReadVarInt();
        var ret_ = r.ReadVarInt();
        return new(cpu_, task_, option_, arg_, ret_);
    }
}

/// <summary><c>untagged_addr()</c> on a user pointer passed to a syscall by <paramref name="Task"/>:
/// the kernel stripped <paramref name="Bits"/> tag bits (from this CPU's untag mask; with B15 from
/// the mm's). The hardware on this CPU masks what CR3's LAM bits say (L5).</summary>
public readonly record struct UntaggedAddr(int Cpu, int Task, int Mm, int Bits) : IJournaledEvent<UntaggedAddr>
{
    public static EventManifest Manifest { get; } = new(56, 1, nameof(UntaggedAddr));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteVarInt(Mm);
        w.WriteVarInt(Bits);
    }

    public static UntaggedAddr Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        var bits_ = r.ReadInt32();
        return new(cpu_, task_, mm_, bits_);
    }
}
