using System.Globalization;
using Twin.Checking;
using Twin.Kernel;
using Twin.Persistence.Memory;
using Twin.Persistence.Sqlite;
using Twin.Persistence.Tests;
using Twin.Simulation.Config;
using Twin.Simulation.Replay;
using Twin.Simulation.Running;
using Twin.Simulation.Scenarios;
using Twin.Simulation.Shrink;
using Twin.Simulation.Soak;

namespace Twin.Simulation.Tests;

/// <summary>Swarm soaks: each seed's drawn config, what the user pins, and a failing draw replayed, re-executed and shrunk.</summary>
public sealed class SwarmTests
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A swarm config as <c>twin soak</c> makes it, with <paramref name="pins"/> given by the user.</summary>
    private static TwinConfig Swarming(params (string Key, string Value)[] pins)
    {
        TwinConfig given = ConfigLoader.Load(null, [.. pins.Select(p => (p.Key, p.Value, "test"))]);
        return given with { Swarm = new SwarmSpec([.. pins.Select(p => p.Key.StartsWith("bugs", StringComparison.Ordinal) ? "bugs" : p.Key)]) };
    }

    [Fact]
    public void a_seed_draws_the_same_config_every_time_and_the_draw_reads_back_as_itself()
    {
        TwinConfig swarm = Swarming();
        for (ulong seed = 1; seed <= 200; seed++)
        {
            TwinConfig a = swarm.ForSeed(seed), b = swarm.ForSeed(seed);
            string json = ConfigLoader.ToJson(a);
            Assert.Equal(json, ConfigLoader.ToJson(b));
            Assert.Null(a.Swarm);
            Assert.Equal(seed, a.Seed);
            Assert.Equal(json, ConfigLoader.ToJson(ConfigLoader.FromRunJson(json, "test")));
        }
    }

    [Fact]
    public void the_draws_vary_every_dimension_and_stay_within_what_the_model_combines()
    {
        TwinConfig swarm = Swarming();
        TwinConfig[] draws = [.. Enumerable.Range(1, 400).Select(s => swarm.ForSeed((ulong)s))];
        Assert.True(draws.Select(d => d.Kernel.Arch.Name).Distinct().Count() == 5);
        Assert.True(draws.Select(d => d.Kernel.Cpus).Distinct().Count() >= 5);
        Assert.True(draws.Select(d => d.Events).Distinct().Count() > 300);
        Assert.Contains(draws, d => d.Kernel.Lam);
        Assert.Contains(draws, d => d.Kernel.TextPoke is not null);
        Assert.Contains(draws, d => d.Kernel.Isolation is { Defer: true });
        Assert.Contains(draws, d => d.Kernel.Isolation is { Defer: false });
        Assert.Contains(draws, d => d.WeakMemory);
        Assert.Contains(draws, d => d.Kernel.Faults.Any(f => f.Spec.StartsWith("hotplug", StringComparison.Ordinal)));
        Assert.Contains(draws, d => d.Kernel.Workload.Weights.Membarrier == 0);
        Assert.Contains(draws, d => d.Kernel.Workload.Weights.UseMm == 0);
        Assert.Contains(draws, d => d.Kernel.Timing.StallProbability == 0);
        Assert.Contains(draws, d => d.Kernel.Timing.WindowStallProbability > 0);
        Assert.Contains(draws, d => d.Kernel.Timing.WindowStallProbability == 0);
        Assert.All(draws, d =>
        {
            Assert.True(d.Kernel.Arch.IsX86 || (!d.Kernel.Lam && d.Kernel.TextPoke is null), $"seed {d.Seed}: x86 feature on {d.Kernel.Arch.Name}");
            Assert.True(d.Kernel.Isolation is null || d.Kernel.TextPoke is not null, $"seed {d.Seed}: isolation without text_poke");
            Assert.True(d.Kernel.Isolation is null || !d.Kernel.Isolation.Cpus.Test(0), $"seed {d.Seed}: CPU 0 isolated");
            Assert.Equal(BugSet.None, d.Kernel.Bugs);
            Assert.True(d.Kernel.Omit.IsEmpty);
            Assert.DoesNotContain(d.Kernel.Faults, f => f.Spec.StartsWith("skip-", StringComparison.Ordinal));
        });
    }

    [Theory]
    [InlineData("riscv")]
    [InlineData("x86_64")]
    public void what_the_user_gives_is_kept_and_the_rest_is_drawn_around_it(string arch)
    {
        TwinConfig swarm = Swarming(("arch", arch), ("cpus", "3"), ("run.events", "50000"), ("faults.0", "ipi-delay:p=0.5"), ("bugs.0", "B8"),
            ("workload.weights.membarrier", "30"));
        for (ulong seed = 1; seed <= 100; seed++)
        {
            TwinConfig d = swarm.ForSeed(seed);
            Assert.Equal(arch, d.Kernel.Arch.Name);
            Assert.Equal(3, d.Kernel.Cpus);
            Assert.Equal(50_000, d.Events);
            Assert.Equal(["ipi-delay:p=0.5"], d.Kernel.Faults.Select(f => f.Spec));
            Assert.Equal(BugSet.B8, d.Kernel.Bugs);
            Assert.Equal(30, d.Kernel.Workload.Weights.Membarrier);
            Assert.True(d.Kernel.Isolation is null || d.Kernel.Isolation.Cpus.Below(3).Count < 3);
        }
        Assert.True(Enumerable.Range(1, 100).Select(s => swarm.ForSeed((ulong)s).Kernel.Workload.Processes).Distinct().Count() > 1);
    }

    [Fact]
    public void without_a_swarm_every_seed_runs_the_one_config()
    {
        TwinConfig fixedConfig = ConfigLoader.Load(null, []);
        Assert.Null(fixedConfig.Swarm);
        TwinConfig seed9 = fixedConfig.ForSeed(9);
        Assert.Equal(ConfigLoader.ToJson(fixedConfig with { Seed = 9 }), ConfigLoader.ToJson(seed9));
        // A scenario's tasks replace the random workload: nothing to draw.
        TwinConfig scenario = ConfigLoader.Load(null, [], RepoPaths.Of("config/scenarios/bugs/B8.json"));
        Assert.Equal(ConfigLoader.ToJson(scenario with { Seed = 4 }), ConfigLoader.ToJson((scenario with { Swarm = new SwarmSpec([]) }).ForSeed(4)));
    }

    [Fact]
    public void a_swarm_config_is_stored_with_its_pins_and_read_back()
    {
        TwinConfig swarm = Swarming(("arch", "arm64"), ("run.events", "1000"));
        TwinConfig back = ConfigLoader.FromRunJson(Campaigns.SeedlessConfigJson(swarm), "test");
        Assert.Equal(["arch", "run.events"], back.Swarm!.Pinned.Order(StringComparer.Ordinal));
        Assert.Equal(ConfigLoader.ToJson(swarm.ForSeed(5)), ConfigLoader.ToJson(back.ForSeed(5)));
    }

    /// <summary>
    /// The reproduction chain on a swarm seed: the first seed of <c>twin soak --bug B8
    /// --arch x86_64</c> whose draw fails is journaled to SQLite, replayed to the same state hash,
    /// re-executed event for event from the stored (drawn) config, and shrunk to a scenario file
    /// that fails the same way.
    /// </summary>
    [Fact]
    public void a_failing_swarm_seed_replays_reexecutes_and_shrinks_to_a_scenario_that_still_fails()
    {
        // Runs pinned at 20,000 events (the rest drawn): the shrinker's runs go to the end of the run
        // when a candidate no longer fails, so the drawn length (up to 1 M) was most of this test's time.
        TwinConfig swarm = Swarming(("arch", "x86_64"), ("bugs.0", "B8"), ("run.events", "20000"));
        TwinConfig failing = Enumerable.Range(1, 40).Select(s => swarm.ForSeed((ulong)s))
            .First(c => SimulationRunner.Run(c, journal: null, "find", stopAtFirstViolation: true).Violations.Count > 0);

        using var dir = new TempDir();
        using SqliteJournal journal = SqliteJournal.Open(dir.File("swarm.db"), create: true);
        SimulationResult run = SimulationRunner.Run(swarm with { Seed = failing.Seed }, journal, "r", stopAtFirstViolation: true);
        Assert.NotEmpty(run.Violations);
        Assert.Equal(ConfigLoader.ToJson(failing), journal.FindRun("r")!.ConfigJson);

        SimulationResult replayed = RunReplay.Replay(journal, journal.FindRun("r")!);
        Assert.Equal(run.StateHash, replayed.StateHash);
        ReexecutionResult again = Reexecution.Reexecute(journal, journal.FindRun("r")!);
        Assert.Null(again.Difference);
        Assert.Equal(run.Events, again.Compared);

        // A budget of runs: what is tested here is that a drawn config shrinks to a scenario that still
        // fails; how far the shrinker gets is ShrinkTests' (its default budget, 10,000 runs, took most of this test).
        (ShrinkResult? shrunk, string? reason) = Shrinker.Shrink(failing, maxRuns: 40);
        Assert.True(shrunk is not null, reason);
        string path = dir.File("shrunk.json");
        File.WriteAllText(path, ScenarioWriter.Write(shrunk, "test"));
        SimulationResult rerun = SimulationRunner.Run(ConfigLoader.Load(null, [], path), new MemoryJournal(), "rerun");
        Assert.Contains(rerun.Violations, v => v.Property == shrunk.Violation.Property);
    }

    /// <summary>
    /// The window-biased strategy stalls the CPU inside switch_mm's LOADED_MM_SWITCHING window, where
    /// B12's missed flush needs it late: seed 1 of the fixed default fails TLB-1 within 10,000 events
    /// with it (docs/soak.md: at event 7,910) and does not with uniform stalls (its first failure is
    /// at 983,695 events).
    /// </summary>
    [Fact]
    public void window_biased_stalls_open_the_switch_mm_window_that_uniform_stalls_rarely_hit()
    {
        TwinConfig b12 = ConfigLoader.Load(null, [("arch", "x86_64", "test"), ("bugs.0", "B12", "test"), ("run.events", "10000", "test")]);
        TwinConfig windows = ConfigLoader.Load(null, [("arch", "x86_64", "test"), ("bugs.0", "B12", "test"), ("run.events", "10000", "test"),
            ("kernel.windowStallProbability", "0.5", "test")]);
        Assert.Empty(SimulationRunner.Run(b12.ForSeed(1), journal: null, "uniform").Violations);
        Assert.Contains(SimulationRunner.Run(windows.ForSeed(1), journal: null, "windows").Violations, v => v.Property == "TLB-1");
    }

    [Fact]
    public void coverage_counts_what_a_run_reached_and_a_soak_sums_its_runs()
    {
        TwinConfig config = ConfigLoader.Load(null, [("run.events", "10000", "test")]);
        SimulationResult one = SimulationRunner.Run(config, journal: null, "one");
        Coverage c = one.Coverage!;
        Assert.True(c[CoveragePoints.Find("switch", "x86_64: user→user")] > 0);
        Assert.True(c[CoveragePoints.Find("switch", "x86_64: kernel→user (unlazy)")] > 0);
        Assert.Equal(0, c[CoveragePoints.Find("switch", "arm64: user→user")]);
        Assert.True(c[CoveragePoints.Find("membarrier", "PRIVATE_EXPEDITED flags=0 → ok")] > 0);
        Assert.True(c[CoveragePoints.Find("ipi", "Mb sent")] > 0);
        Assert.Equal(0, c[CoveragePoints.Find("lam", "ENABLE_TAGGED_ADDR ok")]);
        Assert.Equal(0, c[CoveragePoints.Find("membarrier", "anything else")]);
        Assert.Equal(0, c.OfGroup("textPoke").Hit);

        SoakResult soak = SoakRunner.Run(config, new SeedRange(1, 3, null), workers: 2, stopAtFirst: false);
        var sum = new Coverage();
        for (ulong seed = 1; seed <= 3; seed++) sum.Add(SimulationRunner.Run(config.ForSeed(seed), journal: null, "s").Coverage!);
        Assert.Equal(3, soak.CoveredRuns);
        Assert.All(Enumerable.Range(0, CoveragePoints.Count), i => Assert.Equal(sum[i], soak.Coverage[i]));

        // As a campaign stores it: the counts come back whole.
        var back = new Coverage();
        Assert.True(ViolationJson.AddCoverage(ViolationJson.Write([], sum), back, "test"));
        Assert.All(Enumerable.Range(0, CoveragePoints.Count), i => Assert.Equal(sum[i], back[i]));
        Assert.Empty(ViolationJson.Read(ViolationJson.Write([], sum), "test"));
    }
}
