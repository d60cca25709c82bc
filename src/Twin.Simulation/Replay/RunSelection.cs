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
}
