using Twin.Persistence;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Replay;

/// <summary>Outcome of re-running a journaled run from its seed and config.</summary>
/// <param name="Compared">Events compared equal before the first difference (or all).</param>
/// <param name="Difference">The first difference, or null when the runs agree event for event.</param>
public sealed record ReexecutionResult(SimulationResult Rerun, long Compared, string? Difference, string RecordedCodeVersion);

/// <summary>
/// <c>twin replay --reexecute</c>: runs the simulation again from the run's recorded seed and
/// config and compares every event (stream, sequence number, manifest, virtual time, payload)
/// and every checkpoint with the journal, stopping at the first difference.
/// </summary>
public static class Reexecution
{
    public static ReexecutionResult Reexecute(IJournal journal, RunInfo run, Action<Progress>? onProgress = null)
    {
        TwinConfig config = ConfigLoader.FromRunJson(run.ConfigJson, $"{journal.Uri} run '{run.RunId}'");
        bool finished = run.Status != RunStatus.Running;
        using var comparer = new ComparingWriter(journal, run, journalIsPrefix: !finished);
        (SimulationResult result, bool _) = SimulationRunner.Execute(config, run.RunId, recoverFrom: null, comparer,
            stop: () => comparer.Difference is not null || comparer.Exhausted,
            onProgress, CancellationToken.None, stopAtFirstViolation: StoppedAtFirstViolation(run));
        comparer.Finish(finished);
        return new ReexecutionResult(result with { Journal = journal.Uri }, comparer.Compared, comparer.Difference, run.CodeVersion);
    }

    /// <summary>The run was cut at its first violation (its summary says so): the re-execution must stop there too.</summary>
    private static bool StoppedAtFirstViolation(RunInfo run)
    {
        if (run.SummaryJson is null) return false;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(run.SummaryJson);
            return doc.RootElement.TryGetProperty("stopsAtFirstViolation", out var e) && e.ValueKind == System.Text.Json.JsonValueKind.True;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
