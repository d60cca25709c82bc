using Twin.Kernel;
using Twin.Kernel.Tasks;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;
using Twin.Simulation.Scenarios;
using Twin.Simulation.Shrink;

namespace Twin.Simulation.Tests;

/// <summary>
/// twin shrink on the longest searches, in classes of their own so that xunit runs them beside
/// <see cref="ShrinkTests"/> instead of after it (each class is one collection).
/// </summary>
public sealed class ShrinkLongRunTests
{
    [Theory]
    // B4 needs a 20% reschedule at one IRQ exit: its first failing run (seed 4, 26,103 steps) stuck
    // at ~200 steps until the shrinker made that reschedule certain (SimplifyTiming); now 5.
    [InlineData("B4")]
    [InlineData("B12")]
    public void A_failing_random_run_shrinks_to_a_small_scenario_file_that_fails_the_same_way(string bug) => ShrinkTests.ShrinksToASmallFailingFile(bug);
}
