using FsCheck;
using FsCheck.Fluent;
using Twin.Persistence;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Tests;

/// <summary>Same seed + config + code ⇒ same events and same state hash (architecture.md, Determinism).</summary>
public sealed class DeterminismTests
{
    private static TwinConfig Config(ulong seed, int cpus, int processes, int threads, int kthreads, long events) =>
        ConfigLoader.Load(null,
        [
            ("seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"),
            ("cpus", cpus.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"),
            ("workload.processes", processes.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"),
            ("workload.threadsPerProcess", threads.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"),
            ("workload.kthreads", kthreads.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"),
            ("run.events", events.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"),
            ("journal.checkpointEveryEvents", "1000", "test"),
        ]);

    [Fact]
    public void the_same_seed_and_config_give_the_same_events_and_state_hash_over_many_seeds()
    {
        Gen<(ulong, int, int, int, int)> machines =
            from seed in Gen.Choose(1, int.MaxValue)
            from cpus in Gen.Choose(1, 8)
            from processes in Gen.Choose(0, 4)
            from threads in Gen.Choose(1, 4)
            from kthreads in Gen.Choose(0, 3)
            select ((ulong)seed, cpus, processes, threads, kthreads);
        Prop.ForAll(Arb.From(machines), m =>
            {
                (ulong seed, int cpus, int processes, int threads, int kthreads) = m;
                if (processes == 0 && kthreads == 0) kthreads = 1;
                TwinConfig config = Config(seed, cpus, processes, threads, kthreads, 5_000);
                var a = new MemoryJournal();
                var b = new MemoryJournal();
                SimulationResult ra = SimulationRunner.Run(config, a, "a");
                SimulationResult rb = SimulationRunner.Run(config, b, "b");
                Assert.Equal(ra.StateHash, rb.StateHash);
                Assert.Equal(ra.Events, rb.Events);
                Assert.True(ra.Events >= 5_000);
                Assert.Equal(JournalRows.Of(a, ra.RunId), JournalRows.Of(b, rb.RunId));
                Assert.Equal(a.ReadCheckpoints(a.FindRun("a")!), b.ReadCheckpoints(b.FindRun("b")!));
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void different_seeds_give_different_runs()
    {
        var hashes = Enumerable.Range(1, 20)
            .Select(s => SimulationRunner.Run(Config((ulong)s, 4, 3, 3, 2, 3_000), new MemoryJournal(), "r").StateHash)
            .ToHashSet();
        Assert.Equal(20, hashes.Count);
    }

    [Fact]
    public void a_run_never_trips_a_model_invariant_nor_a_monitor()
    {
        SimulationResult r = SimulationRunner.Run(Config(77, 8, 6, 4, 4, 300_000), new MemoryJournal(), "r");
        Assert.Empty(r.Violations);
        Assert.Equal(300_000, r.Events, tolerance: 10);
    }

    [Fact]
    public void a_pct_run_is_as_deterministic_as_a_random_one_and_a_different_run()
    {
        TwinConfig random = Config(11, 4, 2, 2, 1, 30_000);
        TwinConfig pct = random with { Strategy = "pct", PctDepth = 3, PctHorizon = 5_000 };
        SimulationResult a = SimulationRunner.Run(pct, new MemoryJournal(), "a");
        SimulationResult b = SimulationRunner.Run(pct, new MemoryJournal(), "b");
        SimulationResult r = SimulationRunner.Run(random, new MemoryJournal(), "r");
        Assert.Equal(a.StateHash, b.StateHash);
        Assert.NotEqual(a.StateHash, r.StateHash);
        Assert.Empty(a.Violations);

        // Re-execution reads the strategy back from the stored config.
        TwinConfig stored = ConfigLoader.FromRunJson(ConfigLoader.ToJson(pct), "test");
        Assert.Equal(("pct", 3, 5_000L), (stored.Strategy, stored.PctDepth, stored.PctHorizon));
    }
}
