using Twin.Kernel;
using Twin.Kernel.Tasks;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;
using Twin.Simulation.Scenarios;
using Twin.Simulation.Shrink;

namespace Twin.Simulation.Tests;

/// <summary>twin shrink of a rare race and of a weak-memory outcome.</summary>
public sealed class ShrinkRaceTests
{
    /// <summary>
    /// A rare race between two tasks in a run of hundreds: B14's LAM enable against a switch_mm
    /// into the same mm (11 tasks, 588 steps; greedy removal alone stopped at 359). Keeping only the
    /// tasks last active before the violation, each repeating the step it was in, gives the race
    /// many tries. The seed is where a search starts (the first failing run of the model on Akka,
    /// seed 391, event 2,452); the first failing run from there is shrunk. B17's first soak failure
    /// (seed 38, 244 tasks) no longer shrinks this way on the model on Akka (docs/bugs/B17.md).
    /// </summary>
    [Theory]
    [InlineData("B14", "config/lam.json", 391UL, 100_000L)]
    public void A_rare_race_shrinks_to_the_racing_tasks(string bug, string configFile, ulong firstSeed, long events)
    {
        TwinConfig failing = ShrinkTests.FailingRun(bug, configFile, firstSeed, events);
        (ShrinkResult? shrunk, string? reason) = Shrinker.Shrink(failing);
        Assert.True(shrunk is not null, reason);
        Assert.True(shrunk.Draft.Tasks.Count <= 3, $"{bug}: {shrunk.Draft.Tasks.Count} tasks left");
        Assert.True(shrunk.Draft.StepCount <= 60 && shrunk.Draft.StepCount * 10 <= shrunk.OriginalSteps,
            $"{bug}: {shrunk.OriginalSteps} steps shrunk only to {shrunk.Draft.StepCount}");

        // The file writes a loop as one step with "repeat", and reads back as the same steps.
        using var dir = new ShrinkTests.TempFolder();
        string path = Path.Combine(dir.Path, "shrunk.json");
        File.WriteAllText(path, ScenarioWriter.Write(shrunk, "test"));
        bool loops = shrunk.Draft.Tasks.Any(t => t.Steps.Zip(t.Steps.Skip(1)).Any(p => p.First.Step with { Index = 0 } == p.Second.Step with { Index = 0 }));
        Assert.Equal(loops, File.ReadAllText(path).Contains("\"repeat\"", StringComparison.Ordinal));
        ScenarioDefinition parsed = ScenarioParser.ParseFile(path);
        Assert.Equal(shrunk.Draft.ToTaskSpecs().Select(t => t.Steps.Select(x => x with { Index = 0 }).ToList()),
            parsed.Tasks.Select(t => t.Steps.Select(x => x with { Index = 0 }).ToList()));
        SimulationResult rerun = SimulationRunner.Run(ConfigLoader.Load(null, [], path), new MemoryJournal(), "rerun");
        Assert.Contains(rerun.Violations, v => v.Property == shrunk.Violation.Property);
    }

    /// <summary>
    /// A weak-memory run without membarrier's entry barrier (c) shows the leftover ordering first as
    /// a pairing check and later as an observed outcome (P-OBS); <c>--property P-OBS</c> shrinks to
    /// the outcome, and the file (its loads into per-task registers) fails the same way again.
    /// </summary>
    [Fact]
    public void A_weak_memory_outcome_shrinks_by_its_property_to_a_file_that_shows_it_again()
    {
        TwinConfig failing = ConfigLoader.Load(null, [("memory.weak", "true", "test"), ("arch", "arm64", "test"), ("seed", "1", "test"),
            ("run.events", "300000", "test"), ("omit.0", "membarrier.c", "test")]);
        (ShrinkResult? shrunk, string? reason) = Shrinker.Shrink(failing, "P-OBS");
        Assert.True(shrunk is not null, reason);
        Assert.Equal("P-OBS", shrunk.Violation.Property);
        Assert.True(shrunk.Draft.StepCount <= 40, $"{shrunk.OriginalSteps} steps shrunk only to {shrunk.Draft.StepCount}");

        using var dir = new ShrinkTests.TempFolder();
        string path = Path.Combine(dir.Path, "shrunk.json");
        File.WriteAllText(path, ScenarioWriter.Write(shrunk, "test"));
        TwinConfig reread = ConfigLoader.Load(null, [], path);
        Assert.Equal(failing.Kernel.Omit, reread.Kernel.Omit);
        SimulationResult rerun = SimulationRunner.Run(reread, new MemoryJournal(), "rerun");
        Assert.Contains(rerun.Violations, v => v.Property == "P-OBS");
    }

}
