using Twin.Checking;

namespace Twin.Simulation.Running;

/// <summary>How a run or replay went: the fields of the <c>--json</c> summary.</summary>
public sealed record SimulationResult
{
    public required string RunId { get; init; }

    public required ulong Seed { get; init; }

    public required string Journal { get; init; }

    public required long Events { get; init; }

    public required ulong StateHash { get; init; }

    public required long VirtualTimeNs { get; init; }

    public required double WallSeconds { get; init; }

    public required IReadOnlyList<Violation> Violations { get; init; }

    /// <summary>Membarrier calls in issue order (scenario runs), as <c>--json</c>'s <c>syscalls</c>.</summary>
    public IReadOnlyList<Twin.Kernel.Tasks.SyscallRecord> Syscalls { get; init; } = [];

    /// <summary>Checkpoints verified (replay) or written (run).</summary>
    public int Checkpoints { get; init; }

    /// <summary>For a resumed run: the events the journal already held, re-created and checked, not written again.</summary>
    public long ResumedAfter { get; init; }

    /// <summary>How many times the run reached a site its config leaves out (<c>omit</c>); 0 when none is left out.</summary>
    public long OmittedReached { get; init; }

    /// <summary>What the user loads left in their registers, by (task, register id), when the run observed memory (litmus scenarios, <c>memory.weak</c>).</summary>
    public IReadOnlyDictionary<(int Task, int Reg), long> Registers { get; init; } = new Dictionary<(int, int), long>();

    /// <summary>A litmus scenario's final register state ("r1=0; r2=1"); null for other runs.</summary>
    public string? LitmusState { get; init; }

    /// <summary>The run ended at the first message boundary after a violation (<c>--first</c>, a soak's <c>--first</c>): its re-execution stops the same way.</summary>
    public bool StopsAtFirstViolation { get; init; }

    /// <summary>The run's config as stored with it (canonical JSON; a swarm seed's draw).</summary>
    public string? ConfigJson { get; init; }

    /// <summary>The coverage points the run reached (docs/soak.md); null for results read back from a journal.</summary>
    public Coverage? Coverage { get; init; }

    public double EventsPerSecond => WallSeconds > 0 ? Events / WallSeconds : 0;

    public static string FormatHash(ulong hash) => hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Progress of a long run, reported every few thousand messages.</summary>
public readonly record struct Progress(long Events, long TargetEvents, long CommittedEvents, long VirtualTimeNs);
