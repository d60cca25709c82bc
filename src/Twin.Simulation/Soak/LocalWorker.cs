using Twin.Persistence.Campaigns;

namespace Twin.Simulation.Soak;

/// <summary>
/// This process as a campaign worker, and whether another worker recorded on this host is still
/// alive: its pid exists and started at the recorded time (so a reused pid does not count).
/// </summary>
public static class LocalWorker
{
    public static WorkerIdentity Current() =>
        new(Guid.NewGuid().ToString("N"), Environment.MachineName, Environment.ProcessId, StartTimeOf(Environment.ProcessId) ?? "");

    public static bool IsDeadHere(WorkerIdentity w)
    {
        if (w.Host != Environment.MachineName || w.PidStart.Length == 0) return false;
        return StartTimeOf(w.Pid) != w.PidStart;
    }

    /// <summary>Field 22 of /proc/PID/stat (start time in clock ticks since boot), or null when the process does not exist or there is no /proc.</summary>
    private static string? StartTimeOf(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces and parentheses; the fields after it do not.
            string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return rest.Length > 19 ? rest[19] : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
