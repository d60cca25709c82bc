using Twin.Actors.Persistence;
using Twin.Checking;
using Twin.Checking.Monitors;
using Twin.Kernel.Events;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Tests;

/// <summary>
/// The cross-call protocol (CSD-1 to CSD-3) decided on a simulation by the same monitor that
/// decides it on a real trace: the model keeps it, and a run whose one IPI handler is hidden from
/// the monitor is flagged.
/// </summary>
public sealed class CrossCallSimulationTests
{
    private static TwinConfig Config(ulong seed) => ConfigLoader.Load(null,
    [
        ("seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"),
        ("run.events", "300000", "test"),
    ]);

    /// <summary>Feeds a monitor set every event but the handler and completion of one IPI.</summary>
    private sealed class Hiding(MonitorSet set, long hidden) : EventTap
    {
        public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
        {
            if (evt is IpiHandled h && h.Ipi == hidden) return;
            if (evt is IpiCompleted c && c.Ipi == hidden) return;
            foreach (EventTap tap in set.Taps) tap.OnEvent(in meta, in evt);
        }
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(7UL)]
    public void The_model_keeps_the_cross_call_protocol(ulong seed)
    {
        var set = new MonitorSet([new CrossCallMonitor()]);
        SimulationResult r = SimulationRunner.Run(Config(seed), new MemoryJournal(), "x", taps: set.Taps);
        Assert.DoesNotContain(r.Violations, v => v.Property.StartsWith("CSD-", StringComparison.Ordinal));
        var tallies = ((ITallied)set.Monitors[0]).Tallies;
        foreach (string id in (string[])["CSD-1", "CSD-2", "CSD-3"])
        {
            Assert.True(tallies[id].Checked > 100, $"{id} checked {tallies[id].Checked}");
            Assert.Equal(0, tallies[id].Violated);
            Assert.Equal(0, tallies[id].Undecidable);
        }
    }

    [Fact]
    public void A_handler_the_monitor_never_sees_breaks_CSD_1_at_the_callers_return()
    {
        var recorder = new EventRecorder();
        SimulationRunner.Run(Config(7), new MemoryJournal(), "x", taps: [recorder]);
        IpiSent mb = recorder.Of<IpiSent>().First(s => s.Kind == IpiKind.Mb);

        var set = new MonitorSet([new CrossCallMonitor()]);
        SimulationRunner.Run(Config(7), new MemoryJournal(), "x", taps: [new Hiding(set, mb.Ipi)]);
        Violation v = Assert.Single(set.Violations());
        Assert.Equal("CSD-1", v.Property);
        Assert.Equal(mb.To, v.Cpu);
        Assert.Contains($"CPU {mb.From}'s waited cross-call returned", v.Message);
        Assert.Contains("ipi_mb", v.Message);
    }
}
