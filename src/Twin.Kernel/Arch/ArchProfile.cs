using Twin.Kernel.Events;

namespace Twin.Kernel.Arch;

/// <summary>
/// What an architecture makes core serializing and where its barriers come from (kernel-model §2.6
/// and the comment on rq->curr in <c>__schedule()</c>). Every profile has
/// CONFIG_ARCH_HAS_MEMBARRIER_SYNC_CORE (arch-support.txt: ok). The TLB machinery (lazy mm_cpumask,
/// tlb_gen, flush IPIs) is x86's; other profiles reuse it, so TLB properties are meaningful on the
/// x86 profiles.
/// </summary>
public sealed record ArchProfile
{
    private ArchProfile()
    {
    }

    /// <summary>Profile name as used in config and scenario files.</summary>
    public required string Name { get; init; }

    /// <summary>x86: a CR3 write is a full barrier and core serializing.</summary>
    public required bool Cr3WriteSerializes { get; init; }

    /// <summary>x86 distinguishes SYSRET (syscall return) from IRET (interrupt return, or a forced slow path).</summary>
    public required bool HasSysret { get; init; }

    /// <summary>x86 with PTI: every return to user writes CR3, so every return serializes and sync_core_before_usermode() returns early.</summary>
    public required bool Pti { get; init; }

    /// <summary>arm64, powerpc: exception return is context synchronizing, so every return to user serializes.</summary>
    public required bool ExceptionReturnSerializes { get; init; }

    /// <summary>arm64: <c>switch_to()</c> has a full barrier after rq->curr on every switch.</summary>
    public required bool SwitchToIsFullBarrier { get; init; }

    /// <summary>powerpc, riscv: <c>membarrier_arch_switch_mm()</c> is a full barrier when switching to another registered mm.</summary>
    public required bool ArchSwitchMmBarrier { get; init; }

    /// <summary>riscv: SYNC_CORE through FENCE.I and <c>icache_stale_mask</c>; sret does not serialize.</summary>
    public required bool IcacheStaleMask { get; init; }

    /// <summary>x86 profiles: TLB-1 / TLB-2 apply.</summary>
    public bool IsX86 => HasSysret;

    /// <summary>The path a return to user takes: x86 SYSRET or IRET, others their exception return.</summary>
    public ReturnPath PathFor(bool viaSyscall, bool forcedIret) =>
        HasSysret ? (viaSyscall && !forcedIret ? ReturnPath.Sysret : ReturnPath.Iret)
        : IcacheStaleMask ? ReturnPath.Sret
        : ReturnPath.ExceptionReturn;

    /// <summary>The core-serializing event a return to user implies, if any.</summary>
    public CoreSerializeReason? SerializationOf(ReturnPath path) =>
        Pti ? CoreSerializeReason.PtiCr3
        : path == ReturnPath.Iret ? CoreSerializeReason.Iret
        : path == ReturnPath.ExceptionReturn && ExceptionReturnSerializes ? CoreSerializeReason.ExceptionReturn
        : null;

    /// <summary>
    /// <c>sync_core_before_usermode()</c>: x86 sync_core() unless PTI (B4 fix), riscv FENCE.I, and
    /// nothing on arm64/powerpc (the exception return does it).
    /// </summary>
    public CoreSerializeReason? SyncCoreBeforeUsermode() =>
        Pti || ExceptionReturnSerializes ? null
        : IcacheStaleMask ? CoreSerializeReason.FenceI
        : CoreSerializeReason.SyncCore;

    public static ArchProfile X86_64 { get; } = new()
    {
        Name = "x86_64", Cr3WriteSerializes = true, HasSysret = true, Pti = false, ExceptionReturnSerializes = false,
        SwitchToIsFullBarrier = false, ArchSwitchMmBarrier = false, IcacheStaleMask = false,
    };

    public static ArchProfile X86_64Pti { get; } = X86_64 with { Name = "x86_64-pti", Pti = true };

    public static ArchProfile Arm64 { get; } = new()
    {
        Name = "arm64", Cr3WriteSerializes = false, HasSysret = false, Pti = false, ExceptionReturnSerializes = true,
        SwitchToIsFullBarrier = true, ArchSwitchMmBarrier = false, IcacheStaleMask = false,
    };

    public static ArchProfile PowerPc { get; } = Arm64 with { Name = "powerpc", SwitchToIsFullBarrier = false, ArchSwitchMmBarrier = true };

    public static ArchProfile RiscV { get; } = new()
    {
        Name = "riscv", Cr3WriteSerializes = false, HasSysret = false, Pti = false, ExceptionReturnSerializes = false,
        SwitchToIsFullBarrier = false, ArchSwitchMmBarrier = true, IcacheStaleMask = true,
    };

    public static IReadOnlyList<ArchProfile> All { get; } = [X86_64, X86_64Pti, Arm64, PowerPc, RiscV];

    public static ArchProfile? Find(string name) => All.FirstOrDefault(p => p.Name == name);
}
