using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// x86 LAM (kernel-model §7.1). mm stream: codes 39–40; cpu stream: codes 54–56.

/// <summary><c>mm_enable_lam()</c>: <c>lam_cr3_mask = X86_CR3_LAM_U57</c> and the untag mask for
/// <paramref name="Bits"/> tag bits (6) are set in mm->context, before the enable IPIs.</summary>
[JournaledEvent(39, 1)]
public readonly partial record struct MmLamEnabled(int Mm, int Bits);

/// <summary><c>set_bit(MM_CONTEXT_LOCK_LAM)</c>: by <c>copy_thread()</c> for a CLONE_VM thread, or
/// after a successful enable. From here on LAM cannot change for this mm.</summary>
[JournaledEvent(40, 1)]
public readonly partial record struct MmLamLocked(int Mm);

/// <summary>The CPU wrote <paramref name="Cr3Bits"/> LAM bits into CR3 and <paramref name="UntagBits"/>
/// into <c>cpu_tlbstate.lam</c> / the per-CPU untag mask, for <paramref name="Mm"/> (0 or 6 each;
/// the kernel derives both from one read, L4).</summary>
[JournaledEvent(54, 1)]
public readonly partial record struct CpuLamLoaded(int Cpu, int Mm, int Cr3Bits, int UntagBits, LamLoadReason Reason);

/// <summary><c>arch_prctl(Option, Arg)</c> by <paramref name="Task"/> returned <paramref name="Ret"/>
/// (a value, or -errno).</summary>
[JournaledEvent(55, 1)]
public readonly partial record struct ArchPrctlReturned(int Cpu, int Task, int Option, long Arg, long Ret);

/// <summary><c>untagged_addr()</c> on a user pointer passed to a syscall by <paramref name="Task"/>:
/// the kernel stripped <paramref name="Bits"/> tag bits (from this CPU's untag mask; with B15 from
/// the mm's). The hardware on this CPU masks what CR3's LAM bits say (L5).</summary>
[JournaledEvent(56, 1)]
public readonly partial record struct UntaggedAddr(int Cpu, int Task, int Mm, int Bits);
