using Twin.Actors.Persistence;
using Twin.Checking;
using Twin.Persistence;
using Twin.Traces.Export;
using Twin.Traces.Ftrace;
using Twin.Traces.Journal;

namespace Twin.Traces.Replay;

/// <summary>
/// A real trace as the exporters' <see cref="Timeline"/>: the same kernel events a simulation's
/// timeline holds, from the trace's reconstruction, so <c>twin export</c> draws an imported trace
/// as it draws a run. Event indices are trace line numbers. A first pass checks the trace (for the
/// violations and the window around the first one), a second records the window's events.
/// </summary>
public static class TraceTimeline
{
    /// <param name="window">Trace lines to show; null: around the first violation, or the first 3000 lines.</param>
    public static Timeline FromFile(string path, (long From, long To)? window = null)
    {
        (ReadReport report, TraceCheck check) = TraceCheck.Run(path);
        return Record(report, check, window, Path.GetFileName(path), tap => TraceCheck.Run(path, alsoTo: tap));
    }

    public static Timeline FromJournal(IJournal journal, RunInfo run, (long From, long To)? window = null)
    {
        (Dictionary<int, int> tgids, HashSet<int> kthreads) = TraceJournal.Tasks(run);
        var check = new TraceCheck(tgids, kthreads);
        TraceJournal.Replay(journal, run, check);
        check.Finish();
        ReadReport report = TraceJournal.Report(run);
        return Record(report, check, window, $"{run.RunId} ({report.Path})", taps =>
        {
            var again = new TraceCheck(tgids, kthreads, taps);
            TraceJournal.Replay(journal, run, again);
            again.Finish();
            return (report, again);
        });
    }

    private static Timeline Record(ReadReport report, TraceCheck check, (long From, long To)? window, string name,
        Func<IEnumerable<EventTap>, (ReadReport, TraceCheck)> again)
    {
        List<Violation> violations = [.. check.Properties().Values.SelectMany(t => t.Violations).OrderBy(v => v.EventIndex)];
        (long from, long to) = window ?? Timeline.WindowFor(violations, report.Lines, before: 300, after: 100); // trace lines: denser than events
        int cpus = Math.Max(report.Cpus, check.Reconstructor.Cpus);
        var view = new KernelView();
        var tap = new TimelineWindow(from, to, view, cpus);
        again([tap, view]);
        return new Timeline($"Trace {name}: lines {from}–{to}, {cpus} CPUs", cpus, tap.Events, [.. violations.Where(v => v.EventIndex >= from && v.EventIndex <= to)])
        {
            Start = tap.Start,
        };
    }
}
