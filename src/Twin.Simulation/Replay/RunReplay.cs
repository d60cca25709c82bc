using System.Diagnostics;
using Akka.Actor;
using Twin.Actors;
using Twin.Actors.Journal;
using Twin.Actors.Runtime;
using Twin.Checking;
using Twin.Kernel;
using Twin.Persistence;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Replay;

/// <summary>
/// <c>twin replay</c>: rebuilds every kernel actor's state from a journal through the actors' own
/// Apply code, verifies each recorded checkpoint hash, and runs the monitors over the events, as
/// an offline check of the same properties the run checked online.
/// </summary>
public static class RunReplay
{
    /// <exception cref="JournalException">the journal cannot be read (the row is named).</exception>
    /// <exception cref="ConfigException">the run's stored config is unreadable.</exception>
    public static SimulationResult Replay(IJournal journal, RunInfo run, Action<long>? onProgress = null)
    {
        var clock = Stopwatch.StartNew();
        TwinConfig config = ConfigLoader.FromRunJson(run.ConfigJson, $"{journal.Uri} run '{run.RunId}'");
        MonitorSet monitors = MonitorSet.All(config.Facts);
        var violations = new List<Violation>();
        ReplayResult result = ReplayThrough(journal, run, config, monitors.Taps, violations, onProgress);
        violations.AddRange(monitors.Violations());
        return new SimulationResult
        {
            RunId = run.RunId,
            Seed = run.Seed,
            Journal = journal.Uri,
            Events = result.Events,
            StateHash = result.StateHash,
            VirtualTimeNs = result.LastTimestampNs,
            WallSeconds = clock.Elapsed.TotalSeconds,
            Violations = violations,
            Checkpoints = result.CheckpointsVerified,
        };
    }

    /// <summary>
    /// Rebuilds run <paramref name="run"/> on a replay system, showing every event to
    /// <paramref name="taps"/>; a mismatching checkpoint or a broken invariant becomes a
    /// violation in <paramref name="violations"/> (the replay stops there).
    /// </summary>
    internal static ReplayResult ReplayThrough(IJournal journal, RunInfo run, TwinConfig config, IEnumerable<Twin.Actors.Persistence.EventTap> taps,
        List<Violation> violations, Action<long>? onProgress = null)
    {
        ActorSystem system = SimulationSystem.Create(SimulationHocon.For(run.Seed));
        try
        {
            RunLoop loop = RunLoop.Of(system);
            loop.Persistence.Taps.AddRange(taps);
            var kernel = KernelModel.Boot(system, config.Kernel, replica: true);
            try
            {
                return WholeRunReplay.Replay(system, journal, run, kernel.StartReplica, onProgress);
            }
            catch (StateHashMismatchException e)
            {
                violations.Add(new Violation("REPLAY", 0, -1, 0, e.EventCount, e.Message));
                return new ReplayResult(e.EventCount, 0, loop.Persistence.ComputeStateHash(), 0);
            }
            catch (SimulationHaltedException e) when (e.InnerException is InvariantViolationException invariant)
            {
                violations.Add(new Violation("MODEL", 0, -1, 0, loop.Persistence.PersistedEvents, invariant.Message));
                return new ReplayResult(loop.Persistence.PersistedEvents, 0, loop.Persistence.ComputeStateHash(), 0);
            }
        }
        finally
        {
            SimulationSystem.Shutdown(system);
        }
    }
}
