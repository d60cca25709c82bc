using BenchmarkDotNet.Attributes;
using Twin.Actors.Persistence;
using Twin.Checking;
using Twin.Kernel.Events;

namespace Twin.Benchmarks;

/// <summary>One event through every online monitor (and the kernel view they share).</summary>
[MemoryDiagnoser]
public class MonitorBenchmarks
{
    private const int Events = 100_000;

    private EventTap[] _taps = null!;

    [GlobalSetup]
    public void Setup() => _taps = [.. MonitorSet.All(new MachineFacts(4, false)).Taps];

    [Benchmark(OperationsPerInvoke = Events, Description = "FullBarrier through all monitors")]
    public int FullBarrierStep()
    {
        for (int i = 0; i < Events; i++)
        {
            var meta = new EventMeta("cpu-1", i + 1, i * 100L, i + 1);
            var evt = new FullBarrier(1, BarrierReason.SchedSpinlock);
            foreach (EventTap t in _taps) t.OnEvent(in meta, in evt);
        }
        return _taps.Length;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "IpiHandled through all monitors")]
    public int IpiHandledStep()
    {
        for (int i = 0; i < Events; i++)
        {
            var meta = new EventMeta("cpu-2", i + 1, i * 100L, i + 1);
            var evt = new IpiHandled(2, i + 1, IpiKind.Mb, 0);
            foreach (EventTap t in _taps) t.OnEvent(in meta, in evt);
        }
        return _taps.Length;
    }
}
