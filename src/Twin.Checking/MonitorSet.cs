using Twin.Actors.Persistence;
using Twin.Checking.Memory;
using Twin.Checking.Monitors;

namespace Twin.Checking;

/// <summary>
/// The monitors a run or a check attaches, and their combined findings. <see cref="Taps"/> puts the
/// shared <see cref="KernelView"/> last, so every monitor sees the machine as it was before the
/// event it handles.
/// </summary>
public sealed class MonitorSet
{
    public MonitorSet(IEnumerable<Monitor> monitors, StoreBufferMemory? memory = null, string arch = "")
    {
        Monitors = [.. monitors];
        Memory = memory;
        foreach (Monitor m in Monitors) m.View = View;
        Coverage = new CoverageMonitor(arch) { View = View };
    }

    /// <summary>What the run reached (docs/soak.md, coverage); it observes like the monitors and reports nothing.</summary>
    public CoverageMonitor Coverage { get; }

    public KernelView View { get; } = new();

    public IReadOnlyList<Monitor> Monitors { get; }

    /// <summary>The user memory the run's loads read, when its accesses go through store buffers; null otherwise.</summary>
    public StoreBufferMemory? Memory { get; }

    /// <summary>What to attach to a persistence extension: the memory (its loads are decided before any monitor looks), the monitors, then the view.</summary>
    public IEnumerable<EventTap> Taps => Memory is null ? [.. Monitors, Coverage, View] : [Memory, .. Monitors, Coverage, View];

    /// <summary>Every monitor this build has; with <see cref="MachineFacts.Memory"/>, the store-buffer memory and P-OBS too.</summary>
    public static MonitorSet All(MachineFacts facts)
    {
        if (facts.Memory is not { } m) return new MonitorSet(Standard(facts), arch: facts.Arch);
        var memory = new StoreBufferMemory(m.Tso, m.StoreBufferNs, m.Seed);
        var observed = new ObservedOrderMonitor(memory);
        memory.Observer = observed;
        return new MonitorSet([.. Standard(facts), observed], memory, facts.Arch);
    }

    private static Monitor[] Standard(MachineFacts facts) =>
    [
        new SchedConsistencyMonitor(),
        new ExpeditedIpiMonitor(),
        new SchedulerBarrierMonitor(),
        new SyncCoreMonitor(),
        new LazyUnlazyMonitor(),
        new RseqMonitor(),
        new RegistrationMonitor(),
        new ExecMonitor(),
        new ErrorTableMonitor(facts),
        new TlbFlushMonitor(),
        new TlbOrderMonitor(facts),
        new CpumaskMonitor(),
        new LamMonitor(facts),
        new TextPokeMonitor(facts),
        new IsolationMonitor(),
        new CrossCallMonitor(),
    ];

    /// <summary>
    /// The monitors that decide from what a real trace shows (its reconstruction into the model's
    /// events): the cross-call protocol. The others need what no tracepoint shows (barriers,
    /// membarrier's read of rq->curr, code writes); the trace checker's window rules stand in for
    /// the membarrier guarantees there.
    /// </summary>
    public static MonitorSet ForTraces() => new([new CrossCallMonitor(), new TraceTlbMonitor()]);

    /// <summary>Property ids of every monitor, for summaries that report each property.</summary>
    public static IReadOnlyList<string> Properties { get; } =
        ["SCHED-1", "P-PE", "P-GE", "P-OBS", "P-SC", "P-RSEQ", "P-REG", "P-EXEC", "E-*", "TLB-1", "TLB-2", "TLB-3", "LAZY-1", "L1", "L2", "L3", "L4", "L5", "T1", "T2", "T3", "T4", "T-LIVE", "I1", "I2", "I3", "I4", "CSD-1", "CSD-2", "CSD-3"];

    public long ViolationCount => Monitors.Sum(m => m.ViolationCount);

    /// <summary>Kept violations of all monitors, ordered by the event that shows them.</summary>
    public IReadOnlyList<Violation> Violations() =>
        [.. Monitors.SelectMany(m => m.Violations).OrderBy(v => v.EventIndex).ThenBy(v => v.Property, StringComparer.Ordinal)];
}
