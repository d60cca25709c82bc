using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// text_poke_bp (kernel-model §7.2). text stream: code 70; cpu stream: codes 71–73 (73: task isolation, §7.3).

/// <summary>A step of <c>smp_text_poke_batch_finish()</c> on the patching CPU (kernel-model §7.2's P0–P4, S1–S3).</summary>
public enum TextPokePhase : byte
{
    /// <summary>P0: text_mutex taken, the entries in text_poke_array, each CPU's ref set to 1 (B16: nr_entries and vec set; B17: bp_desc on the stack).</summary>
    Began = 1,
    /// <summary>P1: INT3 written over each entry's first byte.</summary>
    Int3Written = 2,
    /// <summary>S1 done: every CPU ran do_sync_core() after P1.</summary>
    Synced1 = 3,
    /// <summary>P2: each entry's bytes 1..len-1 written.</summary>
    TailWritten = 4,
    /// <summary>S2 done.</summary>
    Synced2 = 5,
    /// <summary>P3: each entry's new first byte written over the INT3.</summary>
    FirstWritten = 6,
    /// <summary>S3 done.</summary>
    Synced3 = 7,
    /// <summary>B16: <c>bp_patching.vec = NULL</c> (before 285a54ef, with nr_entries still set).</summary>
    VecCleared = 8,
    /// <summary>B16: <c>bp_patching.nr_entries = 0</c>.</summary>
    NrEntriesCleared = 9,
    /// <summary>B17: <c>bp_desc = NULL</c>; the stack descriptor's refs are dropped next.</summary>
    DescCleared = 10,
    /// <summary>P4 done: refs drained, the array reset (nr_entries = 0), text_mutex released.</summary>
    Ended = 11,
}

public static class TextPokePhases
{
    /// <summary>P1, P2 and P3: the phases that write kernel text, each followed by its on_each_cpu(do_sync_core).</summary>
    public static bool WritesText(this TextPokePhase phase) =>
        phase is TextPokePhase.Int3Written or TextPokePhase.TailWritten or TextPokePhase.FirstWritten;
}

/// <summary>Where a CPU ran patchable kernel text.</summary>
public enum TextContext : byte
{
    /// <summary>On the syscall path, after kernel entry.</summary>
    Syscall = 1,
    /// <summary>In a kernel thread's work item.</summary>
    Kthread = 2,
    /// <summary>In an NMI handler (perf, the watchdog): on any CPU, interrupts off or not, patching CPU included.</summary>
    Nmi = 3,
    /// <summary>In kernel entry code before context tracking's work flush (B19: where no patchable text may run).</summary>
    Entry = 4,
}

/// <summary>What the INT3 handler (<c>smp_text_poke_int3_handler</c>) did.</summary>
public enum Int3Step : byte
{
    /// <summary>The CPU trapped on an INT3; <see cref="Int3Handled.Value"/> is the <see cref="TextContext"/>.</summary>
    Trapped = 1,
    /// <summary><c>try_get_text_poke_array()</c> succeeded (B17: inc_not_zero on the descriptor); Batch: the batch whose refs it took.</summary>
    RefTaken = 2,
    /// <summary>The handler read the entries: Batch is the batch it found (refs, nr_entries or bp_desc), Value the batch whose array it read (0: NULL).</summary>
    ArrayRead = 3,
    /// <summary>The new instruction was emulated: Value is its version.</summary>
    Emulated = 4,
    /// <summary>Not text_poke's INT3: handed on (a kprobe's, Value 0) or unclaimed, which is an oops (Value 1).</summary>
    NotOurs = 5,
    /// <summary>The ref was put back.</summary>
    RefPut = 6,
    /// <summary>B22: the handler waits for the patch to finish (repeated while it waits).</summary>
    Spinning = 7,
    /// <summary>B22: the wait is over (the site's first byte is no longer INT3).</summary>
    SpinEnded = 8,
}

/// <summary>The patching CPU <paramref name="Cpu"/> finished step <paramref name="Phase"/> of batch
/// <paramref name="Batch"/>, which patches the sites in <paramref name="Sites"/> (a bit mask).</summary>
[JournaledEvent(70, 1)]
public readonly partial record struct TextPokeStepped(int Cpu, int Batch, TextPokePhase Phase, int Sites);

/// <summary>CPU <paramref name="Cpu"/> fetched patchable site <paramref name="Site"/> and saw first byte
/// <paramref name="Byte0"/> (an instruction version, or -1 for INT3) and the rest from version
/// <paramref name="Tail"/>: bytes written since the CPU's last core-serializing event may be seen old or new.</summary>
[JournaledEvent(71, 1)]
public readonly partial record struct TextFetched(int Cpu, int Site, int Byte0, int Tail, TextContext Context);

/// <summary>A step of the INT3 handler on <paramref name="Cpu"/> for the INT3 at <paramref name="Site"/>
/// (-1: a kprobe's INT3, not a text_poke site); <paramref name="Batch"/> and <paramref name="Value"/> as <see cref="Int3Step"/> says.</summary>
[JournaledEvent(72, 1)]
public readonly partial record struct Int3Handled(int Cpu, int Site, Int3Step Step, int Batch, int Value);

/// <summary>What happened to an isolated CPU's context-tracking work bit (CT_WORK_SYNC, kernel-model §7.3).</summary>
public enum CtWorkStep : byte
{
    /// <summary><c>ct_set_cpu_work()</c> succeeded: the CPU was outside the kernel; the sync is deferred to its next kernel entry.</summary>
    Set = 1,
    /// <summary><c>ct_set_cpu_work()</c> failed: the CPU runs kernel code; it gets the IPI.</summary>
    Refused = 2,
    /// <summary><c>ct_work_flush()</c> at kernel entry ran the deferred <c>sync_core()</c> and cleared the bit.</summary>
    Flushed = 3,
}

/// <summary>CPU <paramref name="Cpu"/>'s CT_WORK_SYNC bit: <paramref name="Step"/>, on behalf of CPU <paramref name="From"/>'s text_poke sync.</summary>
[JournaledEvent(73, 1)]
public readonly partial record struct CtWork(int Cpu, CtWorkStep Step, int From);
