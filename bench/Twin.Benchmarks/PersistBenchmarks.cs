using BenchmarkDotNet.Attributes;
using Twin.Kernel.Events;
using Twin.Persistence;
using Twin.Persistence.Codec;
using Twin.Persistence.Memory;

namespace Twin.Benchmarks;

/// <summary>Encoding and decoding an event, and appending it to the memory journal's writer.</summary>
[MemoryDiagnoser]
public class PersistBenchmarks
{
    private const int Rows = 100_000;

    private readonly byte[] _buffer = new byte[PayloadLimits.MaxPayloadBytes];
    [Benchmark(OperationsPerInvoke = Rows, Description = "encode IpiSent")]
    public int EncodeIpiSent()
    {
        int total = 0;
        for (int i = 0; i < Rows; i++)
        {
            var w = new PayloadWriter(_buffer);
            new IpiSent(i, 0, 1, IpiKind.Mb, 3, i).Write(ref w);
            total += w.Length;
        }
        return total;
    }

    [Benchmark(OperationsPerInvoke = Rows, Description = "decode IpiSent")]
    public long DecodeIpiSent()
    {
        var w = new PayloadWriter(_buffer);
        new IpiSent(123456, 0, 1, IpiKind.Mb, 3, 99).Write(ref w);
        int length = w.Length;
        long sum = 0;
        for (int i = 0; i < Rows; i++)
        {
            var r = new PayloadReader(_buffer.AsSpan(0, length));
            sum += IpiSent.Read(ref r).Ipi;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Rows, Description = "append a row (memory journal, amortized)")]
    public long AppendToMemoryJournal()
    {
        using var journal = new MemoryJournal();
        using IJournalWriter writer = journal.StartRun(new RunStart("bench", 1, "{}", "bench", "w"));
        int stream = writer.RegisterStream("cpu-0");
        ReadOnlySpan<byte> payload = [1, 2, 3, 4, 5, 6, 7, 8];
        for (int i = 1; i <= Rows; i++) writer.Append(stream, i, 0x11, i, payload);
        writer.Flush();
        return writer.CommittedEvents;
    }
}
