using BenchmarkDotNet.Attributes;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Persistence.Codec;

namespace Twin.Benchmarks;

/// <summary>
/// Encoding and decoding a mix of the commonest events with Twin's codec and with MessagePack
/// (array layout), per event. <c>-- sizes</c> prints each one's payload size in both.
/// </summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private const int Rounds = 10_000;
    private const int Events = Rounds * Mix.Count;

    private readonly byte[] _buffer = new byte[PayloadLimits.MaxPayloadBytes];
    private readonly ReusedBufferWriter _mpBuffer = new(PayloadLimits.MaxPayloadBytes);
    private byte[][] _twin = [];
    private ReadOnlyMemory<byte>[] _mp = [];

    [GlobalSetup]
    public void Setup()
    {
        _twin = Mix.TwinPayloads();
        _mp = Mix.MessagePackPayloads();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events, Description = "Twin codec: encode")]
    public int EncodeTwin()
    {
        int total = 0;
        for (int i = 0; i < Rounds; i++)
        {
            total += Twin(Mix.Switch) + Twin(Mix.Barrier) + Twin(Mix.MmSwitch) + Twin(Mix.Ipi) + Twin(Mix.Sampled) + Twin(Mix.Enqueue);
        }
        return total;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "Twin codec: decode")]
    public long DecodeTwin()
    {
        long sum = 0;
        for (int i = 0; i < Rounds; i++)
        {
            sum += Read<SchedSwitched>(_twin[0]).Next + Read<FullBarrier>(_twin[1]).Cpu + Read<MmSwitched>(_twin[2]).TlbGen
                + Read<IpiSent>(_twin[3]).Ipi + Read<MembarrierSampled>(_twin[4]).Cpu + Read<TaskEnqueued>(_twin[5]).Task;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "MessagePack: encode")]
    public int EncodeMessagePack()
    {
        int total = 0;
        for (int i = 0; i < Rounds; i++)
        {
            total += Mp(Mix.MpSwitch) + Mp(Mix.MpBarrier) + Mp(Mix.MpMmSwitch) + Mp(Mix.MpIpi) + Mp(Mix.MpSampled) + Mp(Mix.MpEnqueue);
        }
        return total;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "MessagePack: decode")]
    public long DecodeMessagePack()
    {
        long sum = 0;
        for (int i = 0; i < Rounds; i++)
        {
            sum += MpRead<MpSchedSwitched>(_mp[0]).Next + MpRead<MpFullBarrier>(_mp[1]).Cpu + MpRead<MpMmSwitched>(_mp[2]).TlbGen
                + MpRead<MpIpiSent>(_mp[3]).Ipi + MpRead<MpMembarrierSampled>(_mp[4]).Cpu + MpRead<MpTaskEnqueued>(_mp[5]).Task;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "MessagePack, formatters called directly: encode")]
    public int EncodeMessagePackDirect()
    {
        int total = 0;
        for (int i = 0; i < Rounds; i++)
        {
            total += MpDirect(Mix.MpSwitch) + MpDirect(Mix.MpBarrier) + MpDirect(Mix.MpMmSwitch) + MpDirect(Mix.MpIpi) + MpDirect(Mix.MpSampled) + MpDirect(Mix.MpEnqueue);
        }
        return total;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "MessagePack, formatters called directly: decode")]
    public long DecodeMessagePackDirect()
    {
        long sum = 0;
        for (int i = 0; i < Rounds; i++)
        {
            sum += MpReadDirect<MpSchedSwitched>(_mp[0]).Next + MpReadDirect<MpFullBarrier>(_mp[1]).Cpu + MpReadDirect<MpMmSwitched>(_mp[2]).TlbGen
                + MpReadDirect<MpIpiSent>(_mp[3]).Ipi + MpReadDirect<MpMembarrierSampled>(_mp[4]).Cpu + MpReadDirect<MpTaskEnqueued>(_mp[5]).Task;
        }
        return sum;
    }

    private int Twin<T>(in T evt) where T : struct, IJournaledEvent<T>
    {
        var w = new PayloadWriter(_buffer);
        evt.Write(ref w);
        return w.Length;
    }

    // As the journal's replay does: the whole payload must be consumed.
    private static T Read<T>(byte[] payload) where T : struct, IJournaledEvent<T>
    {
        var r = new PayloadReader(payload);
        T evt = T.Read(ref r);
        r.EnsureConsumed();
        return evt;
    }

    private int Mp<T>(in T evt)
    {
        _mpBuffer.Reset();
        MessagePackSerializer.Serialize(_mpBuffer, evt, Mix.MpOptions);
        return _mpBuffer.Length;
    }

    private static T MpRead<T>(ReadOnlyMemory<byte> payload) => MessagePackSerializer.Deserialize<T>(payload, Mix.MpOptions);

    // MessagePack at its fastest: no resolver look-up per call, a writer straight over the buffer.
    private int MpDirect<T>(in T evt)
    {
        _mpBuffer.Reset();
        var writer = new MessagePackWriter(_mpBuffer);
        Formatter<T>.Instance.Serialize(ref writer, evt, Mix.MpOptions);
        writer.Flush();
        return _mpBuffer.Length;
    }

    private static T MpReadDirect<T>(ReadOnlyMemory<byte> payload)
    {
        var reader = new MessagePackReader(payload);
        return Formatter<T>.Instance.Deserialize(ref reader, Mix.MpOptions);
    }

    private static class Formatter<T>
    {
        public static readonly IMessagePackFormatter<T> Instance = Mix.MpOptions.Resolver.GetFormatterWithVerify<T>();
    }
}

/// <summary>The benchmark's events, with the ids, generations and masks of a typical 4-CPU run.</summary>
public static class Mix
{
    public const int Count = 6;

    public static readonly SchedSwitched Switch = new(1, 12, KernelIds.IdleTask(1), PrevState.Sleeping, 3);
    public static readonly FullBarrier Barrier = new(1, BarrierReason.SchedSpinlock);
    public static readonly MmSwitched MmSwitch = new(1, 3, 4, true, false, 812);
    public static readonly IpiSent Ipi = new(48_213, 0, 3, IpiKind.FlushTlb, 4, 812);
    public static readonly MembarrierSampled Sampled = new(0, CpuMask.Empty.With(1).With(2).With(3));
    public static readonly TaskEnqueued Enqueue = new(2, 17);

    public static readonly MpSchedSwitched MpSwitch = new(Switch.Cpu, Switch.Prev, Switch.Next, Switch.PrevState, Switch.PrevMm);
    public static readonly MpFullBarrier MpBarrier = new(Barrier.Cpu, Barrier.Reason);
    public static readonly MpMmSwitched MpMmSwitch = new(MmSwitch.Cpu, MmSwitch.Prev, MmSwitch.Next, MmSwitch.Cr3Written, MmSwitch.WasLazy, MmSwitch.TlbGen);
    public static readonly MpIpiSent MpIpi = new(Ipi.Ipi, Ipi.From, Ipi.To, Ipi.Kind, Ipi.Mm, Ipi.TlbGen);
    public static readonly MpMembarrierSampled MpSampled = new(Sampled.Cpu, Sampled.Targets);
    public static readonly MpTaskEnqueued MpEnqueue = new(Enqueue.Cpu, Enqueue.Task);

    public static MessagePackSerializerOptions MpOptions { get; } = MessagePackSerializerOptions.Standard.WithResolver(
        CompositeResolver.Create([new CpuMaskFormatter()], [StandardResolver.Instance]));

    public static byte[][] TwinPayloads() =>
        [Twin(Switch), Twin(Barrier), Twin(MmSwitch), Twin(Ipi), Twin(Sampled), Twin(Enqueue)];

    public static ReadOnlyMemory<byte>[] MessagePackPayloads() =>
        [Mp(MpSwitch), Mp(MpBarrier), Mp(MpMmSwitch), Mp(MpIpi), Mp(MpSampled), Mp(MpEnqueue)];

    /// <summary>Each event's payload size in both codecs, and the mix's total.</summary>
    public static void PrintSizes()
    {
        string[] names = [nameof(SchedSwitched), nameof(FullBarrier), nameof(MmSwitched), nameof(IpiSent), nameof(MembarrierSampled), nameof(TaskEnqueued)];
        byte[][] twin = TwinPayloads();
        ReadOnlyMemory<byte>[] mp = MessagePackPayloads();
        Console.WriteLine("| event | Twin codec, bytes | MessagePack, bytes |\n|---|---|---|");
        for (int i = 0; i < Count; i++) Console.WriteLine($"| {names[i]} | {twin[i].Length} | {mp[i].Length} |");
        Console.WriteLine($"| mix, total | {twin.Sum(p => p.Length)} | {mp.Sum(p => p.Length)} |");
    }

    private static byte[] Twin<T>(T evt) where T : struct, IJournaledEvent<T>
    {
        Span<byte> buf = stackalloc byte[PayloadLimits.MaxPayloadBytes];
        var w = new PayloadWriter(buf);
        evt.Write(ref w);
        return w.Written.ToArray();
    }

    private static ReadOnlyMemory<byte> Mp<T>(T evt) => MessagePackSerializer.Serialize(evt, MpOptions);
}
