using System.Diagnostics;
using Akka.Actor;
using Twin.Actors;
using Twin.Actors.Journal;
using Twin.Actors.Persistence;
using Twin.Actors.Runtime;
using Twin.Checking;
using Twin.Checking.Litmus;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Tasks;
using Twin.Persistence;
using Twin.Simulation.Config;

namespace Twin.Simulation.Running;

/// <summary>
/// One simulation: boots the kernel actors on a seeded actor system, journals every event, runs
/// the online monitors, writes state-hash checkpoints, and finishes the run record. The same seed,
/// config and code give the same events and the same state hash, whatever the journal.
/// </summary>
public static class SimulationRunner
{
    /// <summary>Starts run <paramref name="runId"/> in <paramref name="journal"/>, simulates, and records the outcome.</summary>
    /// <param name="journal">Where the run's events go; null keeps nothing (a soak's seed, <c>--journal none:</c>): the run then skips Akka's journal round trip.</param>
    /// <param name="onProgress">Called about every 64 k messages.</param>
    /// <param name="cancel">Stops at the next message boundary; what is done is committed.</param>
    /// <param name="taps">Extra observers of every event (tests, exports), besides the monitors.</param>
    /// <param name="stopAtFirstViolation">End the run at the first message boundary after a monitor reports.</param>
    public static SimulationResult Run(TwinConfig config, IJournal? journal, string runId,
        Action<Progress>? onProgress = null, CancellationToken cancel = default, IEnumerable<EventTap>? taps = null, bool stopAtFirstViolation = false,
        Func<Violation, bool>? stopOn = null)
    {
        // A swarm config stands for one config per seed: the run is this seed's draw.
        if (config.Swarm is not null) config = config.ForSeed(config.Seed);
        string configJson = ConfigLoader.ToJson(config);
        IJournalWriter? writer = journal?.StartRun(new RunStart(runId, config.Seed, configJson, CodeVersion.Current, Guid.NewGuid().ToString()));
        journal?.RegisterManifests(EventCatalog.All);
        using (writer) return ExecuteAndComplete(config, runId, journal, journal, writer, onProgress, cancel, taps, stopAtFirstViolation, stopOn) with { ConfigJson = configJson };
    }

    /// <summary>
    /// Continues run <paramref name="run"/>, which a killed process left running: the simulation
    /// runs again from the run's own seed and config, checks every event the journal already holds
    /// (<see cref="Replay.ComparingWriter"/>), and writes the rest. The journal ends as an uninterrupted run's.
    /// </summary>
    public static SimulationResult Resume(IJournal journal, RunInfo run, Action<Progress>? onProgress = null, CancellationToken cancel = default)
    {
        TwinConfig config = ConfigLoader.FromRunJson(run.ConfigJson, $"run '{run.RunId}'");
        using var writer = new Replay.ComparingWriter(journal, run, journalIsPrefix: true, continueInto: journal.TakeOverRun(run, Guid.NewGuid().ToString()));
        // No recovery from the journal: actors start fresh, and the re-execution re-creates their events.
        return ExecuteAndComplete(config, run.RunId, journal, recoverFrom: null, writer, onProgress, cancel) with { ResumedAfter = writer.Compared };
    }

    /// <summary>Simulates into <paramref name="writer"/>, records the outcome as the run's status and summary, and times it.</summary>
    private static SimulationResult ExecuteAndComplete(TwinConfig config, string runId, IJournal? journal, IJournal? recoverFrom, IJournalWriter? writer,
        Action<Progress>? onProgress, CancellationToken cancel, IEnumerable<EventTap>? taps = null, bool stopAtFirstViolation = false,
        Func<Violation, bool>? stopOn = null)
    {
        var clock = Stopwatch.StartNew();
        (SimulationResult result, bool failed) = Execute(config, runId, recoverFrom, writer, stop: null, onProgress, cancel, taps, stopAtFirstViolation, stopOn: stopOn);
        writer?.Complete(failed ? RunStatus.Failed : RunStatus.Completed, SummaryJson.Write(result));
        return result with { Journal = journal?.Uri ?? JournalUri.None, WallSeconds = clock.Elapsed.TotalSeconds };
    }

    /// <summary>
    /// Simulates run <paramref name="runId"/> into <paramref name="writer"/> (null: keeps nothing) until the configured event count, until
    /// <paramref name="stop"/> says so, or until cancelled. Returns the result and whether a model
    /// invariant failed.
    /// </summary>
    /// <param name="stopOn">With <paramref name="stopAtFirstViolation"/>: only a violation this accepts ends the run (default: any).</param>
    internal static (SimulationResult Result, bool ModelFailed) Execute(TwinConfig config, string runId, IJournal? recoverFrom, IJournalWriter? writer,
        Func<bool>? stop, Action<Progress>? onProgress, CancellationToken cancel, IEnumerable<EventTap>? taps = null, bool stopAtFirstViolation = false,
        Kernel.Tasks.IStepObserver? observer = null, Func<Violation, bool>? stopOn = null)
    {
        var clock = Stopwatch.StartNew();
        ActorSystem system = SimulationSystem.Create(SimulationHocon.For(config.Seed, config.Strategy, config.PctDepth, config.PctHorizon));
        try
        {
            RunLoop loop = RunLoop.Of(system);
            RunPersistence persistence = loop.Persistence;
            MonitorSet monitors = MonitorSet.All(config.Facts);
            // A run that keeps nothing (a soak's) is neither written nor recovered from: it skips
            // Akka's journal round trip (RunPersistence.JournalsThroughAkka).
            persistence.Attach(runId, writer, writer is null ? null : recoverFrom, config.CheckpointEveryEvents);
            persistence.Taps.AddRange(monitors.Taps);
            if (taps is not null) persistence.Taps.AddRange(taps);
            SampleRegisters? samples = config.Litmus is { SampleRegisters.Count: > 0 } l ? new SampleRegisters(l.SampleRegisters) : null;
            if (samples is not null) persistence.Taps.Add(samples);
            var violations = new List<Violation>();
            bool failed = false;
            KernelModel? kernel = null;
            try
            {
                kernel = KernelModel.Boot(system, config.Kernel, observer);
                Func<bool>? halt = stopAtFirstViolation ? FirstViolation(monitors, stopOn, stop) : stop;
                Drive(loop, writer, config.Events, halt, onProgress, cancel);
            }
            catch (SimulationHaltedException e) when (e.InnerException is JournalException journalFailure)
            {
                // The journal failed under an actor's persist (disk full, server gone): that is the
                // error to report, by its own type, not the halt it caused.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(journalFailure);
            }
            catch (SimulationHaltedException e) when (e.InnerException is InvariantViolationException)
            {
                // A model invariant failed: the state is impossible in the kernel. Keep what was
                // journaled up to here and report it like any other finding.
                failed = true;
                violations.Add(new Violation("MODEL", loop.NowNs, -1, 0, persistence.PersistedEvents, e.InnerException.Message));
            }
            if (!failed) persistence.WriteCheckpoint();
            writer?.Flush();
            violations.AddRange(monitors.Violations());
            IReadOnlyList<SyscallRecord> syscalls = kernel?.Syscalls ?? [];
            if (!failed) violations.AddRange(Expectations.Check(config.Expectations, syscalls, loop.NowNs));
            IReadOnlyDictionary<(int Task, int Reg), long> registers = monitors.Memory?.Registers ?? s_noRegisters;
            string? litmusState = null;
            if (config.Litmus is { } litmus)
            {
                (litmusState, bool forbidden) = litmus.Outcome(registers, samples?.Values ?? s_noSamples);
                if (forbidden && !failed) violations.Add(litmus.Violation(litmusState, loop.NowNs, persistence.PersistedEvents));
            }
            var result = new SimulationResult
            {
                RunId = runId,
                Seed = config.Seed,
                Journal = "",
                Events = persistence.PersistedEvents,
                StateHash = persistence.ComputeStateHash(),
                VirtualTimeNs = loop.NowNs,
                WallSeconds = clock.Elapsed.TotalSeconds,
                Violations = violations,
                Checkpoints = persistence.CheckpointsWritten,
                Syscalls = syscalls,
                OmittedReached = kernel?.OmittedReached ?? 0,
                Registers = registers,
                LitmusState = litmusState,
                Coverage = monitors.Coverage.Coverage,
                StopsAtFirstViolation = stopAtFirstViolation,
            };
            return (result, failed);
        }
        finally
        {
            SimulationSystem.Shutdown(system);
        }
    }

    /// <summary>True once a monitor has reported a violation <paramref name="stopOn"/> accepts (any, without it), or <paramref name="stop"/> says so.</summary>
    private static Func<bool> FirstViolation(MonitorSet monitors, Func<Violation, bool>? stopOn, Func<bool>? stop)
    {
        if (stopOn is null) return () => monitors.ViolationCount > 0 || (stop?.Invoke() ?? false);
        long looked = 0;
        bool found = false;
        return () =>
        {
            long count = monitors.ViolationCount;
            // The kept violations are looked through only when a monitor reported a new one.
            if (!found && count != looked)
            {
                looked = count;
                found = monitors.Violations().Any(stopOn);
            }
            return found || (stop?.Invoke() ?? false);
        };
    }

    private static readonly Dictionary<(int Task, int Reg), long> s_noRegisters = [];
    private static readonly Dictionary<int, long> s_noSamples = [];

    private static void Drive(RunLoop loop, IJournalWriter? writer, long targetEvents, Func<bool>? stop,
        Action<Progress>? onProgress, CancellationToken cancel)
    {
        RunPersistence persistence = loop.Persistence;
        long messages = 0;
        while (persistence.PersistedEvents < targetEvents && loop.RunOne())
        {
            if (stop is not null && stop()) break;
            if ((++messages & 0xFFFF) != 0) continue;
            if (cancel.IsCancellationRequested) break;
            onProgress?.Invoke(new Progress(persistence.PersistedEvents, targetEvents, writer?.CommittedEvents ?? persistence.PersistedEvents, loop.NowNs));
        }
    }
}
