using System.CommandLine;
using Serilog;
using Twin.Cli.Presentation;
using Twin.Persistence;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Cli.Commands;

/// <summary><c>twin run</c>: one simulation into a journal.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var options = new ConfigOptions();
        var journal = new Option<string>("--journal") { Description = "journal URI: sqlite:PATH, memory: or none:", DefaultValueFactory = _ => CommonOptions.DefaultJournal };
        var runId = new Option<string?>("--run-id") { Description = "name of the run in the journal (default: seed and time)" };
        var first = new Option<bool>("--first") { Description = "stop the run at the first violation a checker reports" };
        var resume = new Option<string?>("--resume") { Description = "continue a run a killed twin run left in this journal (sqlite: or postgres:), with the run's own seed and config; --run-id picks the run (default: the latest left running)" };
        var swarm = new Option<bool>("--swarm") { Description = "run the config this seed draws in a swarm soak (twin soak's default), keeping the keys given here" };
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("run", "Run one simulation and journal every event");
        options.AddTo(command);
        command.Add(journal);
        command.Add(runId);
        command.Add(first);
        command.Add(resume);
        command.Add(swarm);
        command.Add(json);
        command.Add(verbose);
        command.SetAction(parse =>
        {
            if (parse.GetValue(resume) is string uri)
            {
                if (options.AnyGiven(parse) || parse.GetResult(journal) is { Implicit: false } || parse.GetValue(first))
                {
                    throw new UsageException("--resume continues a run as stored: leave out the config options, --journal and --first");
                }
                return Resume(uri, parse.GetValue(runId), parse.GetValue(json), parse.GetValue(verbose));
            }
            var given = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            TwinConfig config = options.Load(parse, given);
            if (parse.GetValue(swarm)) config = ConfigOptions.Swarming(config, given);
            return Execute(config.ForSeed(config.Seed), parse.GetValue(journal)!, parse.GetValue(runId), parse.GetValue(first), parse.GetValue(json), parse.GetValue(verbose));
        });
        return command;
    }

    private static int Resume(string journalUri, string? runId, bool json, bool verbose)
    {
        ILogger log = Logging.Create(verbose);
        using IJournal journal = JournalUri.Open(journalUri, create: false);
        RunInfo run = (runId is null ? journal.ListRuns().LastOrDefault(r => r.Status == RunStatus.Running) : journal.FindRun(runId))
            ?? throw new JournalConflictException(runId is null ? $"{journal.Uri} holds no run left running: nothing to resume" : $"{journal.Uri} holds no run '{runId}'");
        log.Information("resuming run {RunId} in {Journal}: re-creating and checking its stored events, then writing the rest", run.RunId, journal.Uri);
        SimulationResult result = new BackgroundWork().Run($"resume {run.RunId}", showBar: !json, log, work =>
            SimulationRunner.Resume(journal, run,
                p => work.Report((double)p.Events / p.TargetEvents, $"{p.Events:N0}/{p.TargetEvents:N0} events, virtual {p.VirtualTimeNs / 1e6:F1} ms")));
        log.Information("run {RunId} resumed after {Prefix} stored events: {Events} events committed, state hash {Hash}",
            run.RunId, result.ResumedAfter, result.Events, SimulationResult.FormatHash(result.StateHash));
        ResultPrinter.Print(result, json, "twin run");
        return result.Violations.Count == 0 ? ExitCodes.Ok : ExitCodes.Violations;
    }

    private static int Execute(TwinConfig config, string journalUri, string? runId, bool first, bool json, bool verbose)
    {
        ILogger log = Logging.Create(verbose);
        runId ??= $"{config.Seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..4]}";
        using IJournal? journal = JournalUri.OpenOrNone(journalUri, create: true);
        log.Information("run {RunId}: seed {Seed}, {Arch}, {Cpus} CPUs, {Events} events into {Journal}",
            runId, config.Seed, config.Kernel.Arch.Name, config.Kernel.Cpus, config.Events, journal?.Uri ?? JournalUri.None);
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, args) =>
        {
            args.Cancel = true;
            interrupt.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            SimulationResult result = new BackgroundWork().Run($"run {runId}", showBar: !json, log, work =>
                SimulationRunner.Run(config, journal, runId,
                    p => work.Report((double)p.Events / p.TargetEvents,
                        $"{p.Events:N0}/{p.TargetEvents:N0} events, {p.CommittedEvents:N0} committed, virtual {p.VirtualTimeNs / 1e6:F1} ms"),
                    interrupt.Token, stopAtFirstViolation: first));
            if (interrupt.IsCancellationRequested) log.Warning("interrupted: stopped after {Events} events, all committed", result.Events);
            log.Information("run {RunId} done: {Events} events committed, state hash {Hash}", runId, result.Events, SimulationResult.FormatHash(result.StateHash));
            ResultPrinter.Print(result, json, "twin run");
            return result.Violations.Count == 0 ? ExitCodes.Ok : ExitCodes.Violations;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
