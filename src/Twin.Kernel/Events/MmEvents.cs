using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// Events of "mm-N" streams: struct mm_struct and x86 mm->context. Codes 30–49.

/// <summary>An address space was created for process <paramref name="Tgid"/> (at boot, or by fork with
/// the parent's membarrier_state copied by dup_mm).</summary>
[JournaledEvent(30, 2)]
public readonly partial record struct MmCreated(int Mm, int Tgid, int MembarrierState);

/// <summary><c>cpumask_set_cpu(cpu, mm_cpumask(next))</c> in <c>switch_mm_irqs_off()</c>; on x86 not
/// cleared on switch-away, only by a later flush (§1.2).</summary>
[JournaledEvent(31, 1)]
public readonly partial record struct MmCpumaskSet(int Mm, int Cpu);

/// <summary><c>flush_tlb_func()</c> found the mm not loaded: "The CPU was left in the mm_cpumask of the
/// target mm. Clear it."</summary>
[JournaledEvent(32, 1)]
public readonly partial record struct MmCpumaskCleared(int Mm, int Cpu);

/// <summary><c>inc_mm_tlb_gen()</c>: page tables of the mm changed (mprotect; munmap frees
/// tables).</summary>
[JournaledEvent(33, 1)]
public readonly partial record struct TlbGenIncremented(int Mm, long TlbGen, bool FreedTables);

/// <summary><c>mm->membarrier_state</c> took a new value (atomic_or at registration, reset by
/// exec).</summary>
[JournaledEvent(34, 1)]
public readonly partial record struct MembarrierStateChanged(int Mm, int State);

/// <summary><c>mm_users</c> changed (thread created, exit_mm).</summary>
[JournaledEvent(35, 1)]
public readonly partial record struct MmUsersChanged(int Mm, int Users);

/// <summary>riscv <c>prepare_sync_core_cmd()</c>: every CPU must FENCE.I at its next switch_mm to the
/// mm.</summary>
[JournaledEvent(36, 1)]
public readonly partial record struct IcacheStaleMaskSet(int Mm);

/// <summary>riscv: the CPU ran FENCE.I in switch_mm and left the mm's icache_stale_mask.</summary>
[JournaledEvent(37, 1)]
public readonly partial record struct IcacheStaleCleared(int Mm, int Cpu);
