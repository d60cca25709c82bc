using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// Events of the "mm-N" streams: struct mm_struct and x86 mm->context. Codes 30–49.

/// <summary>An address space was created for process <paramref name="Tgid"/>.</summary>
public readonly record struct MmCreated(int Mm, int Tgid) : IJournaledEvent<MmCreated>
{
    public static EventManifest Manifest { get; } = new(30, 1, nameof(MmCreated));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Mm);
        w.WriteVarInt(Tgid);
    }

    public static MmCreated Read(ref PayloadReader r) => new(r.ReadInt32(), r.ReadInt32());
}

/// <summary>
/// <c>cpumask_set_cpu(cpu, mm_cpumask(next))</c> in <c>switch_mm_irqs_off()</c>: set before the CPU
/// reads <c>tlb_gen</c>, and on x86 not cleared on switch-away (only by a later flush), so
/// <c>mm_cpumask ⊇ {cpu : loaded_mm == mm}</c> (kernel-model §1.2).
/// </summary>
public readonly record struct MmCpumaskSet(int Mm, int Cpu) : IJournaledEvent<MmCpumaskSet>
{
    public static EventManifest Manifest { get; } = new(31, 1, nameof(MmCpumaskSet));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Mm);
        w.WriteVarInt(Cpu);
    }

    public static MmCpumaskSet Read(ref PayloadReader r) => new(r.ReadInt32(), r.ReadInt32());
}
