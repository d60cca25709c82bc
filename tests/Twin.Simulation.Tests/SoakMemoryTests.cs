using Twin.Simulation.Config;
using Twin.Simulation.Soak;

namespace Twin.Simulation.Tests;

/// <summary>Runs alone: the live heap is the whole process's, so no other test may allocate meanwhile.</summary>
[CollectionDefinition(nameof(AloneInProcess), DisableParallelization = true)]
public sealed class AloneInProcess;

/// <summary>A soak's memory does not grow with the number of runs: nothing of a finished run stays reachable.</summary>
[Collection(nameof(AloneInProcess))]
public sealed class SoakMemoryTests
{
    [Fact]
    public void the_live_heap_after_many_runs_is_what_it_was_after_a_few()
    {
        TwinConfig config = ConfigLoader.Load(null, [("run.events", "50000", "test")]);
        SoakRunner.Run(config, new SeedRange(1, 10, null), workers: 2, stopAtFirst: false);
        long afterFew = LiveHeap();
        SoakResult many = SoakRunner.Run(config, new SeedRange(11, 110, null), workers: 2, stopAtFirst: false);
        long afterMany = LiveHeap();
        Assert.Equal(100, many.RunsDone);
        // One retained run would be megabytes (its actor system, tasks, mms); a hundred, hundreds.
        Assert.True(afterMany - afterFew < 4_000_000, $"live heap grew from {afterFew:N0} to {afterMany:N0} bytes over 100 more runs");
    }

    /// <summary>The smallest of a few full-collection readings, so a finalizer or timer in flight does not count.</summary>
    private static long LiveHeap()
    {
        long min = long.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            GC.WaitForPendingFinalizers();
            min = Math.Min(min, GC.GetTotalMemory(forceFullCollection: true));
        }
        return min;
    }
}
