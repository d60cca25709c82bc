using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Persistence;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Tests;

/// <summary>Each fault kind shows in the journal and has its effect; the same seed and plan give the same journal.</summary>
public sealed class FaultInjectionTests
{
    private static IEnumerable<FaultInjected> Faults(EventRecorder tap, FaultKind kind) => tap.Of<FaultInjected>().Where(f => f.Kind == kind);

    private static TwinConfig Config(ulong seed, long events, params string[] faults)
    {
        var settings = new List<(string, string, string)>
        {
            ("seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"),
            ("run.events", events.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"),
        };
        for (int i = 0; i < faults.Length; i++) settings.Add(($"faults.{i}", faults[i], "test"));
        return ConfigLoader.Load(null, settings);
    }

    private static (SimulationResult Result, EventRecorder Tap) Run(ulong seed, long events, params string[] faults)
    {
        var tap = new EventRecorder();
        SimulationResult r = SimulationRunner.Run(Config(seed, events, faults), new MemoryJournal(), "f", taps: [tap]);
        return (r, tap);
    }

    /// <summary>Send-to-handled latency of every IPI, by IPI id.</summary>
    private static Dictionary<long, long> Latencies(EventRecorder tap)
    {
        var sentAt = new Dictionary<long, long>();
        var latency = new Dictionary<long, long>();
        foreach ((_, long t, object e) in tap.Events)
        {
            if (e is IpiSent s) sentAt[s.Ipi] = t;
            else if (e is IpiHandled h && h.Ipi != 0 && sentAt.TryGetValue(h.Ipi, out long at)) latency[h.Ipi] = t - at;
        }
        return latency;
    }

    [Fact]
    public void a_dropped_ipi_is_journaled_and_handled_only_after_the_resend_timeout_and_membarrier_still_holds()
    {
        var (r, tap) = Run(3, 100_000, "ipi-drop:ipi=mb,p=0.5,resendNs=500000");
        List<FaultInjected> drops = [.. Faults(tap, FaultKind.IpiDrop)];
        Assert.NotEmpty(drops);
        Assert.All(drops, d => Assert.Equal((int)IpiKind.Mb, d.What));
        Dictionary<long, long> latency = Latencies(tap);
        int late = latency.Values.Count(l => l >= 500_000);
        Assert.True(late >= drops.Count * 9 / 10, $"{late} IPIs took the resend timeout, {drops.Count} were dropped");
        Assert.Empty(r.Violations);
    }

    [Fact]
    public void a_delayed_ipi_arrives_at_least_the_drawn_delay_later()
    {
        var (_, tap) = Run(4, 100_000, "ipi-delay:ipi=flush_tlb,ns=40000..60000");
        Assert.NotEmpty(Faults(tap, FaultKind.IpiDelay));
        Assert.All(Faults(tap, FaultKind.IpiDelay), f => Assert.InRange(f.Ns, 40_000, 60_000));
        Assert.True(Latencies(tap).Values.Count(l => l >= 40_000) >= Faults(tap, FaultKind.IpiDelay).Count() * 9 / 10);
    }

    [Fact]
    public void a_duplicated_ipi_runs_its_handler_once_and_the_target_takes_a_spurious_interrupt()
    {
        var (plain, plainTap) = Run(5, 100_000);
        var (_, tap) = Run(5, 100_000, "ipi-dup:p=1");
        Assert.NotEmpty(Faults(tap, FaultKind.IpiDuplicate));
        Assert.All(tap.Of<IpiHandled>().Where(h => h.Ipi != 0).GroupBy(h => h.Ipi), g => Assert.Single(g));
        double interruptsPerIpi = tap.Of<KernelEntered>().Count(k => k.Reason == EntryReason.Interrupt) / (double)Math.Max(1, tap.Of<IpiSent>().Count());
        double plainPerIpi = plainTap.Of<KernelEntered>().Count(k => k.Reason == EntryReason.Interrupt) / (double)Math.Max(1, plainTap.Of<IpiSent>().Count());
        Assert.True(interruptsPerIpi > plainPerIpi, $"{interruptsPerIpi:F2} interrupts per IPI with duplicates, {plainPerIpi:F2} without");
        Assert.Empty(plain.Violations);
    }

    [Fact]
    public void an_interrupt_storm_hits_its_cpu_at_its_pace()
    {
        var (_, tap) = Run(6, 200_000, "irq-storm:cpu=1,count=40,everyNs=5000,atNs=2000000");
        var storm = tap.Events.Where(e => e.Event is FaultInjected { Kind: FaultKind.IrqStorm }).ToList();
        Assert.InRange(storm.Count, 1, 40);
        Assert.All(storm, e => Assert.Equal(1, ((FaultInjected)e.Event).Cpu));
        Assert.All(storm, e => Assert.InRange(e.TimeNs, 2_000_000, 2_000_000 + 40 * 5_000));
    }

    [Fact]
    public void a_skipped_ipi_handler_barrier_is_journaled_and_breaks_the_private_expedited_guarantee()
    {
        var (r, tap) = Run(7, 200_000, "skip-barrier:reason=IpiHandler,p=0.3");
        Assert.NotEmpty(Faults(tap, FaultKind.SkipBarrier));
        Assert.Contains(r.Violations, v => v.Property is "P-PE" or "P-GE");
    }

    [Fact]
    public void a_skipped_sync_core_is_journaled_and_breaks_the_sync_core_guarantee()
    {
        var (r, tap) = Run(8, 200_000, "skip-serialize:reason=IpiSyncCore,p=0.5");
        Assert.All(Faults(tap, FaultKind.SkipSerialize), f => Assert.Equal((int)CoreSerializeReason.IpiSyncCore, f.What));
        Assert.NotEmpty(Faults(tap, FaultKind.SkipSerialize));
        Assert.Contains(r.Violations, v => v.Property == "P-SC");
    }

    [Fact]
    public void a_once_fault_fires_exactly_once()
    {
        var (_, tap) = Run(9, 100_000, "ipi-delay:ns=1000,once");
        Assert.Single(Faults(tap, FaultKind.IpiDelay));
    }

    [Fact]
    public void a_buggify_fault_is_switched_on_in_some_runs_and_off_in_others()
    {
        int on = 0;
        for (ulong seed = 1; seed <= 16; seed++)
        {
            var (_, tap) = Run(seed, 20_000, "ipi-delay:ns=1000,buggify=0.5");
            if (Faults(tap, FaultKind.IpiDelay).Any()) on++;
        }
        Assert.InRange(on, 2, 14);
    }

    [Fact]
    public void the_same_seed_and_faults_give_the_same_journal_and_other_seeds_other_faults()
    {
        string[] plan = ["ipi-drop:p=0.2", "ipi-dup:p=0.2", "ipi-jitter:ns=0..4000", "irq-storm:count=30,everyNs=3000", "skip-barrier:reason=SchedSpinlock,p=0.01"];
        var a = new MemoryJournal();
        var b = new MemoryJournal();
        SimulationResult ra = SimulationRunner.Run(Config(11, 100_000, plan), a, "a");
        SimulationResult rb = SimulationRunner.Run(Config(11, 100_000, plan), b, "b");
        Assert.Equal(ra.StateHash, rb.StateHash);
        Assert.Equal(JournalRows.Of(a, "a"), JournalRows.Of(b, "b"));
        var (other, tap) = Run(12, 100_000, plan);
        Assert.NotEqual(ra.StateHash, other.StateHash);
        Assert.NotEmpty(tap.Of<FaultInjected>());
    }

    [Fact]
    public void the_same_seed_with_hotplug_and_nmi_storm_faults_gives_the_same_journal()
    {
        (string, string, string)[] plan =
        [
            ("run.events", "100000", "test"), ("seed", "21", "test"),
            ("faults.0", "hotplug:on=membarrier,p=0.2,downNs=10000..300000", "test"), ("faults.1", "hotplug:cpu=2,atNs=40000", "test"),
            ("faults.2", "nmi-storm:cpu=1,count=300,everyNs=200..3000,atNs=20000", "test"),
        ];
        var a = new MemoryJournal();
        var b = new MemoryJournal();
        var tap = new EventRecorder();
        SimulationResult ra = SimulationRunner.Run(ConfigLoader.Load(RepoPaths.Of("config/textpoke.json"), plan), a, "a", taps: [tap]);
        SimulationResult rb = SimulationRunner.Run(ConfigLoader.Load(RepoPaths.Of("config/textpoke.json"), plan), b, "b");
        Assert.Equal(ra.StateHash, rb.StateHash);
        Assert.Equal(JournalRows.Of(a, "a"), JournalRows.Of(b, "b"));
        Assert.Contains(tap.Of<FaultInjected>(), f => f.Kind == FaultKind.Hotplug);
        Assert.Contains(tap.Of<FaultInjected>(), f => f.Kind == FaultKind.NmiStorm);
        Assert.Contains(tap.Of<CpuHotplugged>(), h => !h.Online);
    }

    [Fact]
    public void a_run_with_faults_replays_and_reexecutes_from_its_journal()
    {
        var journal = new MemoryJournal();
        SimulationResult r = SimulationRunner.Run(Config(13, 50_000, "ipi-drop:p=0.3", "irq-storm:count=10"), journal, "r");
        RunInfo run = journal.FindRun("r")!;
        Assert.Contains("ipi-drop:p=0.3", run.ConfigJson);
        Assert.Equal(r.StateHash, Replay.RunReplay.Replay(journal, run).StateHash);
        TwinConfig again = ConfigLoader.FromRunJson(run.ConfigJson, "test");
        Assert.Equal(2, again.Kernel.Faults.Count);
        Assert.Equal(r.StateHash, SimulationRunner.Run(again, new MemoryJournal(), "again").StateHash);
    }

    [Theory]
    [InlineData("hotplug:cpu=1,on=boot", "is not a trigger")]
    [InlineData("ipi-drop:ipi=foo", "not an IPI kind")]
    [InlineData("ipi-delay:ns=9..3", "range")]
    [InlineData("skip-barrier", "'reason' is required")]
    [InlineData("irq-storm:count=0", "count")]
    [InlineData("ipi-dup:p=2", "probability")]
    [InlineData("teleport", "unknown fault kind")]
    [InlineData("ipi-delay:once=3", "flag")]
    public void a_bad_fault_spec_is_refused_by_name(string spec, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Config(1, 100, spec));
        Assert.Contains(spec.Split(':')[0], e.Message);
        Assert.Contains(expected, e.Message);
    }
}
