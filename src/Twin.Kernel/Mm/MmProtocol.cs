using Twin.Actors.Runtime;

namespace Twin.Kernel.Mm;

/// <summary>What a CPU does to an mm's memory (kernel-model §1.2).</summary>
public enum MmOp : byte
{
    /// <summary><c>cpumask_set_cpu(cpu, mm_cpumask(mm))</c>.</summary>
    CpumaskSet,
    /// <summary><c>cpumask_clear_cpu(cpu, mm_cpumask(mm))</c> (flush_tlb_func).</summary>
    CpumaskClear,
    /// <summary><c>inc_mm_tlb_gen()</c>: the reply carries the new generation.</summary>
    IncTlbGen,
    /// <summary><c>atomic_or(value, &amp;mm->membarrier_state)</c>.</summary>
    OrMembarrierState,
    /// <summary><c>atomic_set(&amp;mm->membarrier_state, value)</c> (membarrier_exec_mmap).</summary>
    SetMembarrierState,
    /// <summary><c>mm_users</c> moves by <c>value</c> (mmget, mmput).</summary>
    UsersChanged,
    /// <summary>riscv prepare_sync_core_cmd(): <c>cpumask_setall(&amp;mm->context.icache_stale_mask)</c>.</summary>
    IcacheStaleSetAll,
    /// <summary>riscv: <c>cpumask_clear_cpu(cpu, &amp;mm->context.icache_stale_mask)</c> after FENCE.I.</summary>
    IcacheStaleClear,
    /// <summary>mm_enable_lam(): <c>lam_cr3_mask</c> and <c>untag_mask</c> for <c>value</c> tag bits.</summary>
    EnableLam,
    /// <summary><c>set_bit(MM_CONTEXT_LOCK_LAM)</c>.</summary>
    LockLam,
}

/// <summary>
/// A write to an mm by a CPU. With a token, the writer stalls until the mm replies <see cref="Done"/>
/// (the store is visible); token 0 is a posted write, for stores nobody orders against (a
/// flush handler clearing its own cpumask bit: the CPU's later writes to the mask follow it in order).
/// </summary>
public readonly record struct MmWrite(long Token, MmOp Op, int Cpu = 0, int Value = 0) : ISimulationMessage;
