using System.Collections.Concurrent;
using System.Diagnostics;
using Twin.Checking;
using Twin.Persistence;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Soak;

/// <summary>The outcome of one seed of a soak.</summary>
public sealed record SoakRun(ulong Seed, long Events, ulong StateHash, double WallSeconds, IReadOnlyList<Violation> Violations, string? Journal);

/// <summary>A soak campaign's summary.</summary>
public sealed record SoakResult(IReadOnlyList<SoakRun> Runs, double WallSeconds, bool StoppedAtFirst)
{
    public long Events => Runs.Sum(r => r.Events);

    public IEnumerable<SoakRun> Failing => Runs.Where(r => r.Violations.Count > 0);

    public double EventsPerSecond => WallSeconds > 0 ? Events / WallSeconds : 0;
}

/// <summary>Progress of a soak: runs done, events, violations so far.</summary>
public readonly record struct SoakProgress(int RunsDone, int RunsPlanned, long Events, int FailingRuns, double WallSeconds);

/// <summary>
/// Runs one simulation per seed, several at once (each run deterministic and single-threaded on
/// its worker), with the online monitors on and events discarded. A failing seed is run again into
/// <c>failuresJournal</c> (deterministically the same run) so it can be replayed, exported and shrunk.
/// </summary>
public static class SoakRunner
{
    public static SoakResult Run(TwinConfig config, ulong firstSeed, ulong lastSeed, int workers, bool stopAtFirst,
        string? failuresJournal, Action<SoakProgress>? onProgress = null, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        var runs = new ConcurrentBag<SoakRun>();
        int planned = (int)Math.Min(int.MaxValue, lastSeed - firstSeed + 1);
        int done = 0, failing = 0;
        long events = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var gate = new object();
        var options = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = stop.Token };
        try
        {
            Parallel.For(0L, planned, options, (i, state) =>
            {
                ulong seed = firstSeed + (ulong)i;
                TwinConfig seeded = config with { Seed = seed };
                var run = Stopwatch.StartNew();
                SimulationResult r = SimulationRunner.Run(seeded, new DiscardingJournal(), $"soak-{seed}", stopAtFirstViolation: stopAtFirst);
                string? journal = null;
                if (r.Violations.Count > 0 && failuresJournal is not null)
                {
                    lock (gate)
                    {
                        using IJournal j = JournalUri.Open(failuresJournal, create: true);
                        string id = $"soak-{seed}-{Guid.NewGuid().ToString("N")[..6]}";
                        SimulationRunner.Run(seeded, j, id, stopAtFirstViolation: stopAtFirst);
                        journal = $"{j.Uri} --run {id}";
                    }
                }
                runs.Add(new SoakRun(seed, r.Events, r.StateHash, run.Elapsed.TotalSeconds, r.Violations, journal));
                Interlocked.Add(ref events, r.Events);
                int d = Interlocked.Increment(ref done);
                if (r.Violations.Count > 0)
                {
                    Interlocked.Increment(ref failing);
                    if (stopAtFirst) stop.Cancel();
                }
                onProgress?.Invoke(new SoakProgress(d, planned, Interlocked.Read(ref events), Volatile.Read(ref failing), clock.Elapsed.TotalSeconds));
            });
        }
        catch (OperationCanceledException) when (stopAtFirst || cancel.IsCancellationRequested)
        {
            // Stopped at the first failing seed, or interrupted: the runs finished so far are the result.
        }
        List<SoakRun> ordered = [.. runs.OrderBy(r => r.Seed)];
        return new SoakResult(ordered, clock.Elapsed.TotalSeconds, stopAtFirst && ordered.Any(r => r.Violations.Count > 0));
    }
}
