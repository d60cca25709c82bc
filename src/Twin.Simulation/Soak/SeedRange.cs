using System.Collections.Concurrent;
using Twin.Simulation.Running;

namespace Twin.Simulation.Soak;

/// <summary>Seeds first..last, or from first on until a deadline, handed out in order within this process.</summary>
public sealed class SeedRange : ISeedSource
{
    private readonly ulong _first;
    private readonly ulong? _last;
    private readonly DateTime? _deadlineUtc;
    private readonly DateTime _startUtc = DateTime.UtcNow;
    private readonly ConcurrentBag<SoakRun> _failing = [];
    private long _next;
    private long _done;
    private long _events;
    private readonly Twin.Checking.Coverage _coverage = new();
    private volatile bool _stopped;

    public SeedRange(ulong first, ulong? last, TimeSpan? duration)
    {
        _first = first;
        _last = last;
        _deadlineUtc = duration is null ? null : _startUtc + duration.Value;
    }

    public double Fraction => _last is ulong last
        ? Interlocked.Read(ref _done) / (double)(last - _first + 1)
        : Math.Clamp((DateTime.UtcNow - _startUtc) / (_deadlineUtc!.Value - _startUtc), 0, 1);

    public bool TryClaim(CancellationToken cancel, out ulong seed)
    {
        seed = 0;
        if (_stopped || cancel.IsCancellationRequested) return false;
        if (_deadlineUtc is DateTime deadline && DateTime.UtcNow >= deadline) return false;
        long i = Interlocked.Increment(ref _next) - 1;
        seed = _first + (ulong)i;
        return _last is not ulong last || seed <= last;
    }

    public void Complete(ulong seed, SimulationResult result, double wallSeconds)
    {
        Interlocked.Increment(ref _done);
        Interlocked.Add(ref _events, result.Events);
        if (result.Coverage is not null) _coverage.Add(result.Coverage);
        if (result.Violations.Count > 0)
        {
            _failing.Add(new SoakRun(seed, result.Events, result.StateHash, wallSeconds, result.Violations, null) { ConfigJson = result.ConfigJson });
        }
    }

    /// <summary>An interrupted in-process soak just ends; the seed is not counted.</summary>
    public void Abandon(ulong seed)
    {
    }

    public void Stop() => _stopped = true;

    public SoakResult Summary(double wallSeconds) =>
        new(Interlocked.Read(ref _done), Interlocked.Read(ref _events), [.. _failing.OrderBy(r => r.Seed)], wallSeconds, _stopped)
        {
            Coverage = _coverage,
            CoveredRuns = Interlocked.Read(ref _done),
        };
}
