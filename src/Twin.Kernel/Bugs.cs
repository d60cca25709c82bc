namespace Twin.Kernel;

/// <summary>
/// Switches that put a historical kernel bug back into the model (kernel-model §6). With none
/// set, the model is mainline plus two fixes of gaps mainline leaves open, so that a run with no
/// bug switched on is clean: B8b (reported by Piggin) is closed by a sync_core in kthread_use_mm's
/// lazy same-mm path; B21 (found by the twin) by membarrier_switch_mm comparing the runqueue copy
/// even when prev_mm == next_mm. <c>--bug B8b</c> / <c>--bug B21</c> run mainline as it is.
/// </summary>
[Flags]
public enum BugSet : long
{
    None = 0,
    /// <summary>exit_mm without smp_mb__after_spinlock before current->mm = NULL.</summary>
    B2 = 1 << 0,
    /// <summary>kthread_use_mm / unuse_mm without their barriers and rq state updates.</summary>
    B3 = 1 << 1,
    /// <summary>x86 sync_core_before_usermode() skipped in interrupt context, assuming IRET.</summary>
    B4 = 1 << 2,
    /// <summary>SYNC_CORE sends ipi_mb and relies on the IPI's IRET.</summary>
    B5 = 1 << 3,
    /// <summary>SYNC_CORE uses smp_call_function_many: the caller's CPU is not synced.</summary>
    B6 = 1 << 4,
    /// <summary>Unlazy (kthread → user, same mm) without membarrier_mm_sync_core_before_usermode in finish_task_switch.</summary>
    B8 = 1 << 5,
    /// <summary>Mainline's gap: kthread_use_mm of the lazily borrowed mm, then a switch to a thread of it, without core sync.</summary>
    B8b = 1 << 6,
    /// <summary>riscv: no smp_mb pairing for SYNC_CORE around prepare_sync_core_cmd / switch_mm.</summary>
    B11 = 1 << 7,
    /// <summary>should_flush_tlb() returns false for a CPU in the LOADED_MM_SWITCHING window.</summary>
    B12 = 1 << 8,
    /// <summary>
    /// Found by the twin in the kernel code the spec cites: kthread_unuse_mm() and exit_mm() clear
    /// rq->membarrier_state with active_mm still the mm; the lazy switch back to a thread of that mm
    /// skips membarrier_switch_mm()'s copy (prev_mm == next_mm), so the copy stays 0 while a
    /// registered thread runs (GLOBAL_EXPEDITED skips the CPU). The default compares the copy anyway.
    /// </summary>
    B21 = 1 << 9,
    /// <summary>mm_enable_lam() writes only the caller's CR3, with no enable_lam_func IPI over mm_cpumask (before 3b299b99).</summary>
    B13 = 1 << 10,
    /// <summary>switch_mm_irqs_off() reads the mm's LAM mask twice, once for CR3 and once for cpu_tlbstate (before ec225f8c).</summary>
    B14 = 1 << 11,
    /// <summary>
    /// The LAM policy of the rejected 6.2 pull: no MM_CONTEXT_LOCK_LAM at thread creation (LAM can be
    /// enabled in a multi-threaded process), and untagged_addr() reading the mm's mutable mask
    /// instead of this CPU's copy.
    /// </summary>
    B15 = 1 << 12,
    /// <summary>text_poke_bp before 285a54ef: the handler reads bp_patching.nr_entries, then .vec; the patcher clears vec, then nr_entries, with no sync between.</summary>
    B16 = 1 << 13,
    /// <summary>text_poke_bp's refcounted descriptor on the patcher's stack (1f676247 to Amit's 2022 fix): a handler that read bp_desc can take a ref on the slot's next occupant.</summary>
    B17 = 1 << 14,
    /// <summary>
    /// The INT3 handler of the 2019 static-calls thread (seed 004): instead of emulating the new
    /// instruction it waits for the patch to finish. An NMI that hits the INT3 on the patching CPU,
    /// or on a CPU the patcher's sync waits for, never returns.
    /// </summary>
    B22 = 1 << 15,
    /// <summary>
    /// Task isolation after Alex Belits (2020, rejected): the deferred instruction sync runs after
    /// entry code that executes patchable text (a static key on the entry path), not first thing.
    /// </summary>
    B19 = 1 << 16,
    /// <summary>
    /// Task isolation v3's window (seed 002, Mark Rutland): a CPU entering the kernel syncs at once
    /// but re-registers for sync IPIs a step later; a sync decided in between is neither sent nor
    /// flushed. Modelled as the deferral deciding from that registration, not the atomic
    /// context-tracking state.
    /// </summary>
    B23 = 1 << 17,
}

public static class Bugs
{
    public static bool TryParse(string text, out BugSet bug) => Enum.TryParse(text.Trim(), ignoreCase: true, out bug) && bug != BugSet.None
        && Enum.IsDefined(bug);

    /// <summary>Every switch's name in the catalog's order: B2, B3, …, B8, B8b, …, B23.</summary>
    public static IEnumerable<string> Names => Enum.GetNames<BugSet>().Skip(1)
        .OrderBy(n => int.Parse(n.AsSpan(1, n.Length - 1 - (char.IsLetter(n[^1]) ? 1 : 0)), System.Globalization.CultureInfo.InvariantCulture))
        .ThenBy(n => n, StringComparer.Ordinal);

    public static IEnumerable<BugSet> Each(BugSet set) => Enum.GetValues<BugSet>().Where(b => b != BugSet.None && set.HasFlag(b));
}
