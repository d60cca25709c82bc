using Twin.Persistence;

namespace Twin.Simulation.Replay;

/// <summary>Picks the run a verb works on: the one named, or the journal's latest.</summary>
public static class RunSelection
{
    /// <exception cref="JournalException">no such run, or the journal holds none.</exception>
    public static RunInfo Select(IJournal journal, string? runId)
    {
        if (runId is not null)
        {
            return journal.FindRun(runId) ?? throw new JournalFormatException($"{journal.Uri} has no run '{runId}'");
        }
        IReadOnlyList<RunInfo> runs = journal.ListRuns();
        if (runs.Count == 0) throw new JournalFormatException($"{journal.Uri} holds no run");
        return runs[^1];
    }

    /// <summary>As <see cref="Select"/>, for verbs that re-run the model: an imported trace is refused by name.</summary>
    public static RunInfo SelectSimulation(IJournal journal, string? runId, string verb)
    {
        RunInfo run = Select(journal, runId);
        if (Twin.Traces.Journal.TraceJournal.IsTrace(run))
        {
            throw new JournalFormatException($"run '{run.RunId}' in {journal.Uri} is an imported trace, not a simulation: twin {verb} needs a simulated run; check the trace with twin check");
        }
        return run;
    }
}
