using Twin.Kernel.Events;
using Twin.Kernel.Text;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Tests;

/// <summary>x86 text_poke_bp (kernel-model §7.2): the batch protocol as another CPU sees it, its soak workload, replay, and config errors.</summary>
public sealed class TextPokeScenarioTests
{
    private static readonly string Batch = RepoPaths.Of("config/scenarios/textpoke/batch.json");

    [Fact]
    public void A_batch_goes_through_P0_to_P4_and_another_CPU_sees_old_INT3_and_new_but_never_a_mix()
    {
        var tap = new EventRecorder();
        SimulationResult r = SimulationRunner.Run(ConfigLoader.Load(null, [], Batch), new MemoryJournal(), "tp", taps: [tap]);
        Assert.Empty(r.Violations);
        Assert.Equal(
            [TextPokePhase.Began, TextPokePhase.Int3Written, TextPokePhase.Synced1, TextPokePhase.TailWritten, TextPokePhase.Synced2,
             TextPokePhase.FirstWritten, TextPokePhase.Synced3, TextPokePhase.Ended],
            tap.Of<TextPokeStepped>().Select(s => s.Phase));
        // One do_sync_core IPI to CPU 1 per sync step; CPU 0 runs it itself.
        Assert.Equal(3, tap.Of<IpiSent>().Count(i => i.Kind == IpiKind.TextPokeSync && i.To == 1));
        Assert.Equal(3, tap.Of<CoreSerialized>().Count(c => c.Cpu == 0 && c.Reason == CoreSerializeReason.TextPokeSync));
        TextFetched[] runs = [.. tap.Of<TextFetched>().Where(f => f.Cpu == 1)];
        Assert.Contains(runs, f => f.Byte0 == 0 && f.Tail == 0);
        Assert.Contains(runs, f => f.Byte0 == TextState.Int3);
        Assert.Contains(runs, f => f.Byte0 == 1 && f.Tail == 1);
        Assert.All(runs, f => Assert.True(f.Byte0 == TextState.Int3 || f.Byte0 == f.Tail));
        // Every INT3 at a patched site had the new instruction emulated.
        Assert.Contains(tap.Of<Int3Handled>(), h => h.Step == Int3Step.Emulated && h.Value == 1);
        Assert.DoesNotContain(tap.Of<Int3Handled>(), h => h.Step == Int3Step.NotOurs && h.Value == 1);
        Assert.Contains(tap.Of<TextFetched>(), f => f.Context == TextContext.Nmi);
    }

    [Fact]
    public void The_text_poke_soak_workload_patches_traps_and_runs_clean_and_the_run_replays_and_reexecutes()
    {
        var journal = new MemoryJournal();
        TwinConfig config = ConfigLoader.Load(RepoPaths.Of("config/textpoke.json"), [("run.events", "200000", "test"), ("seed", "5", "test")]);
        var tap = new EventRecorder();
        SimulationResult r = SimulationRunner.Run(config, journal, "tp", taps: [tap]);
        Assert.Empty(r.Violations);
        Assert.True(tap.Of<TextPokeStepped>().Count(s => s.Phase == TextPokePhase.Ended) > 10);
        Assert.Contains(tap.Of<Int3Handled>(), h => h.Step == Int3Step.Emulated);
        Assert.Contains(tap.Of<Int3Handled>(), h => h.Step == Int3Step.NotOurs && h.Site == -1);
        Assert.Contains(tap.Of<TextFetched>(), f => f.Context == TextContext.Nmi && f.Byte0 == TextState.Int3);
        Persistence.RunInfo run = journal.FindRun("tp")!;
        Assert.Equal(r.StateHash, Replay.RunReplay.Replay(journal, run).StateHash);
        TwinConfig again = ConfigLoader.FromRunJson(run.ConfigJson, "test");
        Assert.NotNull(again.Kernel.TextPoke);
        Assert.Equal(r.StateHash, SimulationRunner.Run(again, new MemoryJournal(), "again").StateHash);
    }

    [Theory]
    [InlineData("arm64", "textPoke.enabled models x86's text_poke_bp")]
    public void Text_poke_is_refused_off_x86(string arch, string message)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(RepoPaths.Of("config/textpoke.json"), [("arch", arch, "--set")]));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("""{"text_poke": [0]}""", false, "need \"textPoke.enabled\": true")]
    [InlineData("""{"text_exec": 3}""", true, "site 3 does not exist")]
    [InlineData("""{"text_poke": [1, 1]}""", true, "names site 1 twice")]
    [InlineData("""{"text_poke": []}""", true, "non-empty array of site numbers")]
    [InlineData("""{"text_exec": "probe"}""", true, "is not a site number or \"kprobe\"")]
    public void Bad_text_steps_are_refused_with_their_place(string step, bool enabled, string message)
    {
        string set = enabled ? """ "set": {"textPoke.enabled": true, "textPoke.sites": 2}, """ : "";
        string path = Path.Combine(Path.GetTempPath(), $"tp-bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""{"arch": "x86_64", "cpus": 2, {{set}} "tasks": [{"name": "t", "process": "p", "steps": [{{step}}]}]}""");
        try
        {
            var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, [], path));
            Assert.Contains(message, e.Message);
            Assert.Contains("steps[0]", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
