using Twin.Simulation.Running;

namespace Twin.Simulation.Soak;

/// <summary>Where a soak's workers get seeds and leave results: an in-process range, or a campaign kept in a journal.</summary>
public interface ISeedSource
{
    /// <summary>The next seed to run; false when there is none left (or the soak was stopped).</summary>
    bool TryClaim(CancellationToken cancel, out ulong seed);

    /// <summary>Records a seed's finished run.</summary>
    void Complete(ulong seed, SimulationResult result, double wallSeconds);

    /// <summary>Gives back a seed whose run was interrupted: it was not run and is not counted.</summary>
    void Abandon(ulong seed);

    /// <summary>No more seeds after this (a --first soak found its failure).</summary>
    void Stop();

    /// <summary>How far the soak is, 0..1 (by seeds or by time).</summary>
    double Fraction { get; }

    SoakResult Summary(double wallSeconds);
}
