using Twin.Kernel.Events;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Tests;

/// <summary>Task isolation's deferred syncs (kernel-model §7.3): the walkthrough scenario, the soak workload, replay, config errors.</summary>
public sealed class IsolationScenarioTests
{
    [Fact]
    public void Syncs_to_an_isolated_CPU_in_user_mode_are_deferred_and_run_first_at_its_kernel_entry_but_membarrier_is_not_deferred()
    {
        var tap = new EventRecorder();
        TwinConfig config = ConfigLoader.Load(null, [], RepoPaths.Of("config/scenarios/isolation/deferral.json"));
        Assert.True(config.Kernel.NohzFull);
        SimulationResult r = SimulationRunner.Run(config, new MemoryJournal(), "iso", taps: [tap]);
        Assert.Empty(r.Violations);
        Assert.Equal(3, tap.Of<CtWork>().Count(w => w.Cpu == 1 && w.Step == CtWorkStep.Set));
        Assert.Equal(1, tap.Of<CtWork>().Count(w => w.Cpu == 1 && w.Step == CtWorkStep.Flushed));
        Assert.DoesNotContain(tap.Of<IpiSent>(), i => i.Kind == IpiKind.TextPokeSync && i.To == 1);
        Assert.Contains(tap.Of<IpiSent>(), i => i.Kind == IpiKind.SyncCore && i.To == 1);
        // The flush's sync_core comes before CPU 1 runs the site, and the site is the new instruction.
        List<object> events = [.. tap.Events.Select(e => e.Event)];
        int flush = events.FindIndex(e => e is CtWork { Cpu: 1, Step: CtWorkStep.Flushed });
        int fetch = events.FindIndex(e => e is TextFetched { Cpu: 1 });
        Assert.True(flush >= 0 && fetch > flush, $"flush at {flush}, fetch at {fetch}");
        Assert.Equal(new TextFetched(1, 0, 1, 1, TextContext.Syscall), events[fetch]);
        Assert.Equal(new CoreSerialized(1, CoreSerializeReason.TextPokeSync), events[flush - 1]);
    }

    [Fact]
    public void Without_deferral_the_isolated_CPU_is_interrupted_by_every_sync()
    {
        var tap = new EventRecorder();
        TwinConfig config = ConfigLoader.Load(null, [("isolation.defer", "false", "test")], RepoPaths.Of("config/scenarios/isolation/deferral.json"));
        SimulationResult r = SimulationRunner.Run(config, new MemoryJournal(), "mainline", taps: [tap]);
        Assert.Empty(r.Violations);
        Assert.Empty(tap.Of<CtWork>());
        Assert.Equal(3, tap.Of<IpiSent>().Count(i => i.Kind == IpiKind.TextPokeSync && i.To == 1));
    }

    [Fact]
    public void The_isolation_soak_workload_defers_and_flushes_runs_clean_and_replays_and_reexecutes()
    {
        var journal = new MemoryJournal();
        TwinConfig config = ConfigLoader.Load(RepoPaths.Of("config/isolation.json"), [("run.events", "200000", "test"), ("seed", "7", "test")]);
        var tap = new EventRecorder();
        SimulationResult r = SimulationRunner.Run(config, journal, "iso", taps: [tap]);
        Assert.Empty(r.Violations);
        Assert.True(tap.Of<CtWork>().Count(w => w.Step == CtWorkStep.Set) > 10);
        Assert.Contains(tap.Of<CtWork>(), w => w.Step == CtWorkStep.Refused);
        Assert.Contains(tap.Of<CtWork>(), w => w.Step == CtWorkStep.Flushed);
        Assert.All(tap.Of<CtWork>(), w => Assert.True(w.Cpu is 2 or 3));
        Persistence.RunInfo run = journal.FindRun("iso")!;
        Assert.Equal(r.StateHash, Replay.RunReplay.Replay(journal, run).StateHash);
        TwinConfig again = ConfigLoader.FromRunJson(run.ConfigJson, "test");
        Assert.NotNull(again.Kernel.Isolation);
        Assert.Equal(r.StateHash, SimulationRunner.Run(again, new MemoryJournal(), "again").StateHash);
    }

    [Theory]
    [InlineData("isolation.cpus", "2-x", "'2-x' is not a CPU or a range A-B")]
    [InlineData("isolation.cpus", "3-1", "'3-1' is not a CPU or a range A-B")]
    [InlineData("isolation.cpus", "1,9", "CPU 9 does not exist (cpus = 4)")]
    [InlineData("isolation.defer", "yes", "is not true or false")]
    public void Bad_isolation_keys_are_refused(string key, string value, string message)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(RepoPaths.Of("config/isolation.json"), [(key, value, "--set")]));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Deferral_without_isolated_CPUs_is_refused()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, [("isolation.defer", "true", "--set")]));
        Assert.Contains("isolation.defer needs isolated CPUs", e.Message);
    }
}
