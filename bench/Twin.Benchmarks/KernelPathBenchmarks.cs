using BenchmarkDotNet.Attributes;
using Twin.Kernel.Cpu;
using Twin.Kernel.Cpu.Paths;

namespace Twin.Benchmarks;

/// <summary>
/// What writing kernel paths as coroutines costs (issue 27): a call of a path that calls another,
/// which waits twice on a CPU frame, resumed at once. <see cref="KernelPath"/> (Twin's coroutine
/// type, pooled frames) against the same paths as C# iterators run by a driver stack (each call
/// allocates its enumerator; results go through a field).
/// </summary>
[MemoryDiagnoser]
public class KernelPathBenchmarks
{
    private const int Calls = 10_000;
    private static readonly object Wait = new();

    private readonly CpuFrame _frame = new(FrameKind.Task);
    private readonly Stack<IEnumerator<object>> _stack = new();
    private long _sum;
    private int _result;

    private FrameAwaiter Step()
    {
        _frame.Arm(FrameWait.Step);
        _frame.NextToken();
        return _frame.Awaiter();
    }

    private async KernelPath<int> Leaf(int x)
    {
        await Step();
        await Step();
        return x + 1;
    }

    private async KernelPath<int> Middle(int x) => 2 * await Leaf(x);

    private async KernelPath Loop(int calls)
    {
        long sum = 0;
        for (int i = 0; i < calls; i++) sum += await Middle(i);
        _sum = sum;
    }

    [Benchmark(OperationsPerInvoke = Calls, Description = "KernelPath: a path calling a path that waits twice")]
    public long Coroutine()
    {
        _ = Loop(Calls);
        while (_frame.Parked) _frame.Resume();
        return _sum;
    }

    private IEnumerable<object> LeafIterator(int x)
    {
        yield return Wait;
        yield return Wait;
        _result = x + 1;
    }

    private IEnumerable<object> MiddleIterator(int x)
    {
        yield return LeafIterator(x);
        _result *= 2;
    }

    private IEnumerable<object> LoopIterator(int calls)
    {
        long sum = 0;
        for (int i = 0; i < calls; i++)
        {
            yield return MiddleIterator(i);
            sum += _result;
        }
        _sum = sum;
    }

    [Benchmark(OperationsPerInvoke = Calls, Description = "iterators: the same, nested by a driver stack")]
    public long Iterators()
    {
        _stack.Push(LoopIterator(Calls).GetEnumerator());
        while (_stack.Count > 0)
        {
            IEnumerator<object> top = _stack.Peek();
            if (!top.MoveNext())
            {
                _stack.Pop();
                continue;
            }
            if (top.Current is IEnumerable<object> call) _stack.Push(call.GetEnumerator());
            // else a wait: a CPU would park here until the message that ends it; resumed at once.
        }
        return _sum;
    }
}
