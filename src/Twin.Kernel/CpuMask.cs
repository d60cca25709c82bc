using System.Numerics;
using Twin.Persistence.Codec;

namespace Twin.Kernel;

/// <summary>A set of up to 256 CPUs, as a value (cpumask_t). Encodes as its non-zero prefix of 64-bit words.</summary>
public readonly record struct CpuMask(ulong W0, ulong W1, ulong W2, ulong W3)
{
    public static CpuMask Empty => default;

    public bool Test(int cpu) => (Word(cpu >> 6) & (1UL << (cpu & 63))) != 0;

    public CpuMask With(int cpu) => SetWord(cpu >> 6, Word(cpu >> 6) | (1UL << (cpu & 63)));

    public CpuMask Without(int cpu) => SetWord(cpu >> 6, Word(cpu >> 6) & ~(1UL << (cpu & 63)));

    public int Count => BitOperations.PopCount(W0) + BitOperations.PopCount(W1) + BitOperations.PopCount(W2) + BitOperations.PopCount(W3);

    public bool IsEmpty => (W0 | W1 | W2 | W3) == 0;

    public override string ToString() => "{" + ToCpuList() + "}";

    /// <summary>The mask without CPUs numbered <paramref name="cpus"/> and up (a machine made smaller).</summary>
    public CpuMask Below(int cpus)
    {
        CpuMask m = Empty;
        for (int c = 0; c < Math.Min(cpus, Limits.MaxCpus); c++)
        {
            if (Test(c)) m = m.With(c);
        }
        return m;
    }

    /// <summary>The CPUs in the mask, ascending, as the kernel's cpulist options take them (<c>2,3</c>), or with another separator.</summary>
    public string ToCpuList(string separator = ",")
    {
        var parts = new List<string>();
        for (int c = 0; c < Limits.MaxCpus; c++)
        {
            if (Test(c)) parts.Add(c.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return string.Join(separator, parts);
    }

    public void Write(ref PayloadWriter w)
    {
        int words = W3 != 0 ? 4 : W2 != 0 ? 3 : W1 != 0 ? 2 : W0 != 0 ? 1 : 0;
        w.WriteByte((byte)words);
        for (int i = 0; i < words; i++) w.WriteVarUInt(Word(i));
    }

    public static CpuMask Read(ref PayloadReader r)
    {
        int words = r.ReadByte();
        if (words > 4) throw new CorruptPayloadException($"cpumask of {words} words");
        Span<ulong> w = stackalloc ulong[4];
        for (int i = 0; i < words; i++) w[i] = r.ReadVarUInt();
        return new CpuMask(w[0], w[1], w[2], w[3]);
    }

    private ulong Word(int i) => i switch { 0 => W0, 1 => W1, 2 => W2, _ => W3 };

    private CpuMask SetWord(int i, ulong v) => i switch
    {
        0 => this with { W0 = v },
        1 => this with { W1 = v },
        2 => this with { W2 = v },
        _ => this with { W3 = v },
    };
}
