using System.Diagnostics;
using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Checking;
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
        var system = new ActorSystem(run.Seed);
        var kernel = new Kernel.Kernel(config.Kernel);
        MonitorSet monitors = MonitorSet.All(MachineFacts.Of(config.Kernel));
        system.Persistence.Taps.AddRange(monitors.Taps);
        var violations = new List<Violation>();
        ReplayResult result;
        try
        {
            result = RunReplayer.Replay(system, journal, run, kernel.PropsForStream, onProgress);
        }
        catch (StateHashMismatchException e)
        {
            violations.Add(new Violation("REPLAY", 0, -1, 0, e.EventCount, e.Message));
            result = new ReplayResult(e.EventCount, 0, system.Persistence.ComputeStateHash(), 0);
        }
        catch (Actors.Supervision.InvariantViolationException e)
        {
            violations.Add(new Violation("MODEL", 0, -1, 0, 0, e.Message));
            result = new ReplayResult(0, 0, system.Persistence.ComputeStateHash(), 0);
        }
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
}
