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
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("run", "Run one simulation and journal every event");
        options.AddTo(command);
        command.Add(journal);
        command.Add(runId);
        command.Add(first);
        command.Add(json);
        command.Add(verbose);
        command.SetAction(parse => Execute(options.Load(parse), parse.GetValue(journal)!, parse.GetValue(runId), parse.GetValue(first), parse.GetValue(json), parse.GetValue(verbose)));
        return command;
    }

    private static int Execute(TwinConfig config, string journalUri, string? runId, bool first, bool json, bool verbose)
    {
        ILogger log = Logging.Create(verbose);
        runId ??= $"{config.Seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..4]}";
        using IJournal journal = JournalUri.Open(journalUri, create: true);
        log.Information("run {RunId}: seed {Seed}, {Arch}, {Cpus} CPUs, {Events} events into {Journal}",
            runId, config.Seed, config.Kernel.Arch.Name, config.Kernel.Cpus, config.Events, journal.Uri);
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
