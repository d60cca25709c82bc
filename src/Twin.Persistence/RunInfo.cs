namespace Twin.Persistence;

/// <summary>Lifecycle of a run as recorded in the <c>runs</c> table.</summary>
public enum RunStatus
{
    /// <summary>A writer holds the run. After a crash it stays here: the committed prefix is still readable.</summary>
    Running,
    /// <summary>The simulation reached its end and every event was committed.</summary>
    Completed,
    /// <summary>The simulation stopped on an error; the committed prefix is kept.</summary>
    Failed,
}

/// <summary>What a writer declares when it starts a run.</summary>
public sealed record RunStart(string RunId, ulong Seed, string ConfigJson, string CodeVersion, string WriterUuid);

/// <summary>One row of the <c>runs</c> table.</summary>
/// <param name="RunNo">Short journal-local number; prefixes every persistence id of the run (<c>"7:cpu-0"</c>).</param>
/// <param name="RunId">The name people use for the run.</param>
public sealed record RunInfo(
    int RunNo,
    string RunId,
    ulong Seed,
    string ConfigJson,
    string CodeVersion,
    RunStatus Status,
    string WriterUuid,
    long StartedUnixMs,
    long? FinishedUnixMs,
    string? SummaryJson)
{
    /// <summary>The persistence id a run-relative stream name maps to.</summary>
    public string PersistenceIdOf(string stream) => $"{RunNo}:{stream}";

    /// <summary>Every persistence id of this run starts with this.</summary>
    public string PersistenceIdPrefix => $"{RunNo}:";

    /// <summary>The tag every event of the run carries in the SQL journal (Akka.Persistence.Query's CurrentEventsByTag finds the run by it).</summary>
    public string Tag => TagOf(RunNo);

    public static string TagOf(int runNo) => $"run-{runNo}";
}

/// <summary>A checkpoint: the state hash of the whole run after its first <see cref="EventCount"/> events.</summary>
public readonly record struct Checkpoint(long EventCount, long TimestampNs, ulong StateHash);

/// <summary>The text SQL backends store in <c>runs.status</c>.</summary>
public static class RunStatusText
{
    public static string Of(RunStatus status) => status switch
    {
        RunStatus.Running => "running",
        RunStatus.Completed => "completed",
        _ => "failed",
    };

    /// <returns>false for text no build of Twin writes.</returns>
    public static bool TryParse(string text, out RunStatus status)
    {
        switch (text)
        {
            case "running": status = RunStatus.Running; return true;
            case "completed": status = RunStatus.Completed; return true;
            case "failed": status = RunStatus.Failed; return true;
            default: status = default; return false;
        }
    }
}
