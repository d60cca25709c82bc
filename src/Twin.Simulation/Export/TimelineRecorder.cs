using Twin.Actors.Persistence;
using Twin.Checking;
using Twin.Persistence;
using Twin.Simulation.Config;
using Twin.Simulation.Replay;
using Twin.Simulation.Running;
using Twin.Traces.Export;

namespace Twin.Simulation.Export;

/// <summary>
/// Reads a journaled run into a <see cref="Timeline"/> for the exporters: a first replay finds the
/// violations (and so the window worth looking at), a second records the window's events and each
/// CPU's state when it opens.
/// </summary>
public static class TimelineRecorder
{
    /// <param name="window">Event indices to show; null: around the first violation, or the start of the run.</param>
    public static Timeline Record(IJournal journal, RunInfo run, (long From, long To)? window = null)
    {
        SimulationResult checkedRun = RunReplay.Replay(journal, run);
        (long from, long to) = window ?? Timeline.WindowFor(checkedRun.Violations, checkedRun.Events);
        TwinConfig config = ConfigLoader.FromRunJson(run.ConfigJson, $"{journal.Uri} run '{run.RunId}'");
        var view = new KernelView();
        var tap = new TimelineWindow(from, to, view, config.Kernel.Cpus);
        RunReplay.ReplayThrough(journal, run, config, [tap, view], violations: []);
        string title = $"Twin run {run.RunId} (seed {run.Seed}, {config.Kernel.Arch.Name}, {config.Kernel.Cpus} CPUs{(config.Kernel.Bugs == 0 ? "" : $", bugs {config.Kernel.Bugs}")}): events {from}–{to}";
        return new Timeline(title, config.Kernel.Cpus, tap.Events, [.. checkedRun.Violations.Where(v => v.EventIndex >= from && v.EventIndex <= to)])
        {
            Start = tap.Start,
        };
    }
}
