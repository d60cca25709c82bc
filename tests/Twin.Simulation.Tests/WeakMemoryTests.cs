using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Replay;
using Twin.Simulation.Running;
using Twin.Simulation.Soak;

namespace Twin.Simulation.Tests;

/// <summary>
/// The weak-memory mode (memory.weak): user loads and stores through store buffers in any run or
/// soak, checked by what the loads saw (P-OBS): deterministic, clean on a correct model on every
/// profile, and catching a missing ordering barrier by an observed outcome.
/// </summary>
public sealed class WeakMemoryTests
{
    private static TwinConfig Weak(string arch, ulong seed, long events, params (string Key, string Value)[] more) =>
        ConfigLoader.Load(null, [("memory.weak", "true", "test"), ("arch", arch, "test"), ("seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"),
            ("run.events", events.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"), .. more.Select(m => (m.Key, m.Value, "test"))]);

    [Fact]
    public void a_weak_memory_run_is_deterministic_replays_to_its_hashes_and_reexecutes_event_for_event()
    {
        TwinConfig c = Weak("arm64", 5, 60_000);
        var journal = new MemoryJournal();
        SimulationResult a = SimulationRunner.Run(c, journal, "weak");
        SimulationResult b = SimulationRunner.Run(c, new MemoryJournal(), "again");
        Assert.Equal(a.StateHash, b.StateHash);
        Assert.Equal(a.Events, b.Events);
        Assert.Equal(a.Violations.Select(v => v.Message), b.Violations.Select(v => v.Message));
        // The random workload's threads did load and store.
        Assert.NotEmpty(a.Registers);
        Assert.Equal(a.StateHash, RunReplay.Replay(journal, journal.FindRun("weak")!).StateHash);
        ReexecutionResult re = Reexecution.Reexecute(journal, journal.FindRun("weak")!);
        Assert.Null(re.Difference);
        Assert.Equal(a.Events, re.Compared);
    }

    [Theory]
    [InlineData("x86_64")]
    [InlineData("x86_64-pti")]
    [InlineData("arm64")]
    [InlineData("powerpc")]
    [InlineData("riscv")]
    public void a_correct_model_soaks_clean_in_the_weak_memory_mode(string arch)
    {
        SoakResult r = SoakRunner.Run(Weak(arch, 1, 150_000), new SeedRange(1, 6, null), workers: 2, stopAtFirst: false);
        Assert.Equal(6, r.RunsDone);
        Assert.True(r.Failing.Count == 0, string.Join("\n", r.Failing.Select(f => $"seed {f.Seed}: {f.Violations[0].Property}: {f.Violations[0].Message}")));
    }

    [Fact]
    public void without_membarriers_exit_barrier_what_the_threads_saw_breaks_the_guarantee()
    {
        SimulationResult r = SimulationRunner.Run(Weak("arm64", 1, 300_000, ("omit.0", "membarrier.c")), journal: null, "no-c");
        Twin.Checking.Violation v = r.Violations.First(v => v.Property == "P-OBS");
        Assert.Contains("left task", v.Message);
        Assert.Contains("after the call returned", v.Message);
        // The same run in the sequentially consistent default shows nothing a thread could see.
        TwinConfig sc = ConfigLoader.Load(null, [("arch", "arm64", "t"), ("seed", "1", "t"), ("run.events", "300000", "t"), ("omit.0", "membarrier.c", "t")]);
        Assert.DoesNotContain(SimulationRunner.Run(sc, journal: null, "sc").Violations, v => v.Property == "P-OBS");
    }
}
