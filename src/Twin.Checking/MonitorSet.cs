using Twin.Checking.Monitors;

namespace Twin.Checking;

/// <summary>The monitors a run or a check attaches, and their combined findings.</summary>
public sealed class MonitorSet
{
    public MonitorSet(IEnumerable<Monitor> monitors) => Monitors = [.. monitors];

    public IReadOnlyList<Monitor> Monitors { get; }

    /// <summary>Every monitor this build has.</summary>
    public static MonitorSet All() => new([new SchedConsistencyMonitor()]);

    public long ViolationCount => Monitors.Sum(m => m.ViolationCount);

    /// <summary>Kept violations of all monitors, ordered by the event that shows them.</summary>
    public IReadOnlyList<Violation> Violations() =>
        [.. Monitors.SelectMany(m => m.Violations).OrderBy(v => v.EventIndex).ThenBy(v => v.Property, StringComparer.Ordinal)];
}
