using System.CommandLine;
using Serilog;
using Twin.Cli.Presentation;
using Twin.Persistence;
using Twin.Simulation;
using Twin.Simulation.Replay;
using Twin.Simulation.Running;

namespace Twin.Cli.Commands;

/// <summary><c>twin replay</c>: rebuild state from a journal and verify its hashes, or re-execute and compare.</summary>
public static class ReplayCommand
{
    public static Command Create()
    {
        var uri = new Argument<string>("journal") { Description = "journal URI, e.g. sqlite:runs/twin.db" };
        var run = CommonOptions.RunId();
        var reexecute = new Option<bool>("--reexecute") { Description = "run the simulation again from the recorded seed and config and compare event for event" };
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("replay", "Rebuild every actor's state from a journal and verify the recorded state hashes") { uri, run, reexecute, json, verbose };
        command.SetAction(parse =>
        {
            ILogger log = Logging.Create(parse.GetValue(verbose));
            bool asJson = parse.GetValue(json);
            using IJournal journal = JournalUri.Open(parse.GetValue(uri)!, create: false);
            RunInfo info = RunSelection.SelectSimulation(journal, parse.GetValue(run), "replay");
            if (info.Status == RunStatus.Running)
            {
                log.Warning("run {RunId} did not finish (its writer stopped early); replaying its committed events", info.RunId);
            }
            return parse.GetValue(reexecute) ? Reexecute(journal, info, asJson, log) : Rebuild(journal, info, asJson, log);
        });
        return command;
    }

    private static int Rebuild(IJournal journal, RunInfo info, bool json, ILogger log)
    {
        SimulationResult result = new BackgroundWork().Run($"replay {info.RunId}", showBar: !json, log, work =>
            RunReplay.Replay(journal, info, n => work.Report(0, $"{n:N0} events replayed")));
        log.Information("replayed {Events} events of run {RunId}; {Checkpoints} checkpoints verified", result.Events, info.RunId, result.Checkpoints);
        ResultPrinter.Print(result, json, "twin replay",
            w => w.WriteBoolean("reexecuted", false),
            [("checkpoints verified", result.Checkpoints.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        return result.Violations.Count == 0 ? ExitCodes.Ok : ExitCodes.Violations;
    }

    private static int Reexecute(IJournal journal, RunInfo info, bool json, ILogger log)
    {
        if (info.CodeVersion != CodeVersion.Current)
        {
            log.Warning("run {RunId} was recorded by code {Recorded}; this is {Current}: differences may come from the code", info.RunId, info.CodeVersion, CodeVersion.Current);
        }
        ReexecutionResult r = new BackgroundWork().Run($"re-execute {info.RunId}", showBar: !json, log, work =>
            Reexecution.Reexecute(journal, info, p => work.Report((double)p.Events / p.TargetEvents, $"{p.Events:N0} events compared")));
        SimulationResult result = r.Rerun;
        if (r.Difference is not null)
        {
            result = result with { Violations = [.. result.Violations, new Checking.Violation("DETERMINISM", 0, -1, 0, r.Compared + 1, r.Difference)] };
        }
        ResultPrinter.Print(result, json, "twin replay --reexecute", w =>
        {
            w.WriteBoolean("reexecuted", true);
            w.WriteNumber("compared", r.Compared);
            w.WriteString("difference", r.Difference);
            w.WriteString("recordedCodeVersion", r.RecordedCodeVersion);
            w.WriteString("codeVersion", CodeVersion.Current);
        }, [("compared", $"{r.Compared:N0} events equal"), ("difference", r.Difference ?? "none")]);
        return result.Violations.Count == 0 ? ExitCodes.Ok : ExitCodes.Violations;
    }
}
