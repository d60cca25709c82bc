using Twin.Checking;

namespace Twin.Simulation.Soak;

/// <summary>A failing (or kept) seed of a soak: its outcome and, when journaled, where to find the run.</summary>
public sealed record SoakRun(ulong Seed, long Events, ulong StateHash, double WallSeconds, IReadOnlyList<Violation> Violations, string? Journal)
{
    /// <summary>The seed's run config (a swarm's draw) as canonical JSON, when the soak knows it.</summary>
    public string? ConfigJson { get; init; }
}

/// <summary>
/// A soak's summary. Only failing seeds are kept one by one; passing seeds are counted, so a soak
/// of any length holds the same memory. For a campaign it is read back from the journal, so it is
/// the same whether the campaign ran in one go, was resumed, or was shared by several workers.
/// </summary>
public sealed record SoakResult(long RunsDone, long Events, IReadOnlyList<SoakRun> Failing, double WallSeconds, bool StoppedAtFirst)
{
    /// <summary>The campaign's name when the soak kept one in a journal.</summary>
    public string? Campaign { get; init; }

    /// <summary>Events simulated by this process (a resumed or shared campaign's totals include other processes' runs).</summary>
    public long EventsHere { get; init; }

    public double EventsPerSecond => WallSeconds > 0 ? EventsHere / WallSeconds : 0;

    /// <summary>Coverage summed over every run of the soak (for a campaign: every seed the journal holds coverage of).</summary>
    public Coverage Coverage { get; init; } = new();

    /// <summary>Runs whose coverage is in <see cref="Coverage"/>.</summary>
    public long CoveredRuns { get; init; }
}

/// <summary>Progress of a soak: runs done (by this process), events, failing runs so far, and the fraction done when known.</summary>
public readonly record struct SoakProgress(long RunsDone, long Events, int FailingRuns, double WallSeconds, double Fraction);
