using System.Buffers;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;
using Twin.Kernel;
using Twin.Kernel.Events;

namespace Twin.Benchmarks;

// The benchmark's mix as MessagePack sees it: the same record structs, fields and order, in
// MessagePack's array layout ([Key(n)]). Twin's events carry no MessagePack attributes, so these
// stand in for them; MessagePack 2.5.307's dynamic resolver builds their formatters at run time.

[MessagePackObject]
public readonly record struct MpSchedSwitched([property: Key(0)] int Cpu, [property: Key(1)] int Prev, [property: Key(2)] int Next, [property: Key(3)] PrevState PrevState, [property: Key(4)] int PrevMm);

[MessagePackObject]
public readonly record struct MpFullBarrier([property: Key(0)] int Cpu, [property: Key(1)] BarrierReason Reason);

[MessagePackObject]
public readonly record struct MpMmSwitched([property: Key(0)] int Cpu, [property: Key(1)] int Prev, [property: Key(2)] int Next, [property: Key(3)] bool Cr3Written, [property: Key(4)] bool WasLazy, [property: Key(5)] long TlbGen);

[MessagePackObject]
public readonly record struct MpIpiSent([property: Key(0)] long Ipi, [property: Key(1)] int From, [property: Key(2)] int To, [property: Key(3)] IpiKind Kind, [property: Key(4)] int Mm, [property: Key(5)] long TlbGen);

[MessagePackObject]
public readonly record struct MpMembarrierSampled([property: Key(0)] int Cpu, [property: Key(1)] CpuMask Targets);

[MessagePackObject]
public readonly record struct MpTaskEnqueued([property: Key(0)] int Cpu, [property: Key(1)] int Task);

/// <summary>A mask as the array of its words up to the last non-zero one, as Twin's codec writes it.</summary>
public sealed class CpuMaskFormatter : IMessagePackFormatter<CpuMask>
{
    public void Serialize(ref MessagePackWriter writer, CpuMask value, MessagePackSerializerOptions options)
    {
        int words = value.W3 != 0 ? 4 : value.W2 != 0 ? 3 : value.W1 != 0 ? 2 : value.W0 != 0 ? 1 : 0;
        writer.WriteArrayHeader(words);
        if (words > 0) writer.Write(value.W0);
        if (words > 1) writer.Write(value.W1);
        if (words > 2) writer.Write(value.W2);
        if (words > 3) writer.Write(value.W3);
    }

    public CpuMask Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        int words = reader.ReadArrayHeader();
        if (words > 4) throw new MessagePackSerializationException($"cpumask of {words} words");
        Span<ulong> w = stackalloc ulong[4];
        for (int i = 0; i < words; i++) w[i] = reader.ReadUInt64();
        return new CpuMask(w[0], w[1], w[2], w[3]);
    }
}

/// <summary>A buffer writer over one reused array: MessagePack writes into it without allocating.</summary>
public sealed class ReusedBufferWriter(int size) : IBufferWriter<byte>
{
    private readonly byte[] _buffer = new byte[size];

    public int Length { get; private set; }

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, Length);

    public void Reset() => Length = 0;

    public void Advance(int count) => Length += count;

    public Memory<byte> GetMemory(int sizeHint = 0) => _buffer.AsMemory(Length);

    public Span<byte> GetSpan(int sizeHint = 0) => _buffer.AsSpan(Length);
}
