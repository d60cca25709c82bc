using System.Diagnostics;
using Twin.Checking;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Soak;

/// <summary>
/// Runs seeds from a <see cref="ISeedSource"/> on several threads at once, each run
/// deterministic and single-threaded, with the online monitors on and events discarded (a
/// campaign source journals the runs worth keeping). Memory does not grow with the number of
/// runs: each run's actor system is dropped when it ends, and only failing runs are kept.
/// </summary>
public static class SoakRunner
{
    /// <summary>
    /// Every finished run leaves its whole actor system behind as garbage (about 31 bytes per event,
    /// 31 MB per 1 M-event run), promoted to the old generation while the run lasts. A full,
    /// compacting collection after a run (at most every 200 ms: a few ms each, no measurable cost in
    /// events/s) keeps a long soak's resident memory at its level: over a one-hour soak, 60–137 MB,
    /// a mean of 77 MB in minutes 5–10 and 79 MB in minutes 50–60. Every 5 s it sawed 53–298 MB;
    /// without it, 106–342 MB.
    /// </summary>
    private static void CollectNowAndThen(ref long lastCollectMs)
    {
        long now = Environment.TickCount64;
        long last = Volatile.Read(ref lastCollectMs);
        if (now - last < CollectEveryMs || Interlocked.CompareExchange(ref lastCollectMs, now, last) != last) return;
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    private const long CollectEveryMs = 200;

    /// <param name="cancel">Stops claiming seeds; runs in flight stop at their next message boundary and are given back uncounted.</param>
    /// <param name="counts">Which violations make a run fail (default: every one); the others are dropped from its result.</param>
    /// <param name="onRun">Sees every finished run's result (before the source records it).</param>
    public static SoakResult Run(TwinConfig config, ISeedSource source, int workers, bool stopAtFirst,
        Action<SoakProgress>? onProgress = null, CancellationToken cancel = default, Func<Violation, bool>? counts = null, Action<SimulationResult>? onRun = null)
    {
        var clock = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        long done = 0, events = 0;
        int failing = 0;
        Exception? failure = null;
        long lastCollectMs = Environment.TickCount64;
        void Work()
        {
            try
            {
                while (!stop.IsCancellationRequested && source.TryClaim(stop.Token, out ulong seed))
                {
                    var run = Stopwatch.StartNew();
                    SimulationResult r = SimulationRunner.Run(config.ForSeed(seed), journal: null, $"soak-{seed}",
                        cancel: cancel, stopAtFirstViolation: stopAtFirst, stopOn: counts);
                    if (cancel.IsCancellationRequested)
                    {
                        source.Abandon(seed);
                        break;
                    }
                    onRun?.Invoke(r);
                    if (counts is not null) r = r with { Violations = [.. r.Violations.Where(counts)] };
                    source.Complete(seed, r, run.Elapsed.TotalSeconds);
                    long d = Interlocked.Increment(ref done);
                    long e = Interlocked.Add(ref events, r.Events);
                    if (r.Violations.Count > 0)
                    {
                        Interlocked.Increment(ref failing);
                        if (stopAtFirst)
                        {
                            source.Stop();
                            stop.Cancel();
                        }
                    }
                    onProgress?.Invoke(new SoakProgress(d, e, Volatile.Read(ref failing), clock.Elapsed.TotalSeconds, source.Fraction));
                    CollectNowAndThen(ref lastCollectMs);
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, e, null);
                stop.Cancel();
            }
        }
        var threads = new Thread[workers];
        for (int i = 0; i < workers; i++)
        {
            // Deep recursion in scenario-free runs is bounded, but the model's call depth is not trivial.
            threads[i] = new Thread(Work, 64 * 1024 * 1024) { Name = $"twin-soak-{i}", IsBackground = true };
            threads[i].Start();
        }
        foreach (Thread t in threads) t.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        return source.Summary(clock.Elapsed.TotalSeconds) with { EventsHere = Interlocked.Read(ref events) };
    }
}
