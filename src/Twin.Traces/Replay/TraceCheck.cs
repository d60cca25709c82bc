using Twin.Actors.Persistence;
using Twin.Checking;
using Twin.Checking.Monitors;
using Twin.Traces.Ftrace;

namespace Twin.Traces.Replay;

/// <summary>
/// Everything <c>twin import</c> and <c>twin check</c> run over a real trace: the summary, the
/// trace checker's window rules (P-PE, P-GE, P-SC, P-RSEQ, E-RET), and the reconstruction of the
/// trace into the model's events feeding the monitors that decide from those events alone, on a
/// simulation and a trace alike (CSD-1 to CSD-3). Reading memory stays bounded by the tasks and
/// CPUs the trace has, never by its length.
/// </summary>
public sealed class TraceCheck : ITraceSink
{
    public TraceCheck(IReadOnlyDictionary<int, int> tgids, IReadOnlySet<int> kthreads, IEnumerable<EventTap>? alsoTo = null)
    {
        Checker = new TraceChecker(kthreads);
        Checker.LearnTgids(tgids);
        Monitors = MonitorSet.ForTraces();
        // The checker reads each line when the reconstruction does, with the tgids of the lines ahead known.
        Reconstructor = new TraceReconstructor([.. Monitors.Taps, .. alsoTo ?? []], tgids, kthreads, delayed: Checker);
        Checker.TgidLookup = Reconstructor.TgidOf;
        Checker.InExec = Reconstructor.InExec;
    }

    public TraceSummary Summary { get; } = new();

    public TraceChecker Checker { get; }

    public MonitorSet Monitors { get; }

    public TraceReconstructor Reconstructor { get; }

    public void OnEvent(in TraceRecord record)
    {
        Summary.OnEvent(in record);
        Reconstructor.OnEvent(in record);
    }

    /// <summary>Rebuilds what the reconstruction still reads ahead; call once the trace is read.</summary>
    public void Finish() => Reconstructor.Finish();

    /// <summary>Every property decided on the trace, with its counts, by id.</summary>
    public SortedDictionary<string, PropertyTally> Properties()
    {
        var all = new SortedDictionary<string, PropertyTally>(Checker.Properties, StringComparer.Ordinal);
        foreach (Twin.Checking.Monitor m in Monitors.Monitors)
        {
            if (m is ITallied t)
            {
                foreach ((string id, PropertyTally tally) in t.Tallies) all[id] = tally;
            }
        }
        return all;
    }

    /// <summary>Reads a trace file (and its <c>.tasks</c> side file, when there is one) through a new check.</summary>
    public static (ReadReport Report, TraceCheck Check) Run(string path, bool strict = false, IEnumerable<EventTap>? alsoTo = null)
    {
        (Dictionary<int, int> tgids, HashSet<int> kthreads) = TasksOf(path);
        var check = new TraceCheck(tgids, kthreads, alsoTo);
        ReadReport report = FtraceReader.Read(path, check, strict);
        check.Finish();
        return (report, check);
    }

    /// <summary>The tgids and kernel threads of <c>TRACE.tasks</c>, or none.</summary>
    public static (Dictionary<int, int> Tgids, HashSet<int> Kthreads) TasksOf(string path) =>
        File.Exists(path + ".tasks") ? TraceChecker.ReadTasksFile(path + ".tasks") : ([], []);
}
