using Twin.Actors.Runtime;
using Twin.Kernel.Events;

namespace Twin.Kernel.Text;

/// <summary>What a CPU does to the kernel text and text_poke's shared state.</summary>
public enum TextOpKind : byte
{
    /// <summary>mutex_trylock(&amp;text_mutex): replies 1 if taken (a sleeping lock; the CPU retries a step later).</summary>
    TryLock,
    /// <summary>A step of the batch (P0–P4, S1–S3) by the CPU holding text_mutex; Ended releases it.</summary>
    Step,
    /// <summary><c>raw_atomic_inc_not_zero(this_cpu_ptr(&amp;text_poke_array_refs))</c>: replies 1 if a ref was taken.</summary>
    TryGetRef,
    /// <summary>A handler's <c>atomic_dec(refs)</c> (posted: P4 polls until it sees every ref dropped).</summary>
    PutRef,
    /// <summary>P4 drops every CPU's ref (the patcher's own decrements).</summary>
    PutAllRefs,
    /// <summary>B17: <c>atomic_inc_not_zero(&amp;desc->refs)</c> on whatever the stack slot holds: replies 1 if taken.</summary>
    TryGetDescRef,
    /// <summary>B17: a descriptor ref dropped (posted).</summary>
    PutDescRef,
}

/// <summary>A request to the text actor; with a token the sender stalls until <see cref="Done"/>.</summary>
public readonly record struct TextOp(long Token, TextOpKind Kind, int Cpu, TextPokePhase Phase = default, int Sites = 0) : ISimulationMessage;
