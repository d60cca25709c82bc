using System.CommandLine;
using System.Globalization;
using Serilog;
using Spectre.Console;
using Twin.Checking;
using Twin.Cli.Presentation;
using Twin.Persistence;
using Twin.Simulation.Replay;
using Twin.Simulation.Running;

namespace Twin.Cli.Commands;

/// <summary><c>twin check</c>: the checkers over a journal, offline; a table per property.</summary>
public static class CheckCommand
{
    public static Command Create()
    {
        var uri = new Argument<string>("journal") { Description = "journal URI, e.g. sqlite:runs/twin.db, or a real trace file (as twin import)" };
        var run = CommonOptions.RunId();
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("check", "Run every checker over a journal and report each property") { uri, run, json, verbose };
        command.SetAction(parse =>
        {
            ILogger log = Logging.Create(parse.GetValue(verbose));
            bool asJson = parse.GetValue(json);
            string target = parse.GetValue(uri)!;
            // A path without a journal scheme is a real trace: check it as twin import does (which says so if it is missing).
            if (!target.Contains(':', StringComparison.Ordinal)) return ImportCommand.CheckTrace(target, strict: false, asJson, log);
            using IJournal journal = JournalUri.Open(target, create: false);
            RunInfo info = RunSelection.Select(journal, parse.GetValue(run));
            if (Twin.Traces.Journal.TraceJournal.IsTrace(info)) return ImportCommand.CheckJournaledTrace(journal, info, asJson, log);
            SimulationResult result = new BackgroundWork().Run($"check {info.RunId}", showBar: !asJson, log, work =>
                RunReplay.Replay(journal, info, n => work.Report(0, $"{n:N0} events checked")));
            if (asJson)
            {
                ResultPrinter.Print(result, json: true, "twin check");
            }
            else
            {
                var table = new Table().Border(TableBorder.Rounded).Title($"twin check {Markup.Escape(info.RunId)}: {result.Events:N0} events")
                    .AddColumn("property").AddColumn("violations").AddColumn("first");
                foreach (string property in MonitorSet.Properties.Concat(["REPLAY", "MODEL"]))
                {
                    var mine = result.Violations.Where(v => v.Property == property || (property == "E-*" && v.Property.StartsWith("E-", StringComparison.Ordinal))).ToList();
                    if (mine.Count == 0 && property is "REPLAY" or "MODEL") continue;
                    table.AddRow(property, mine.Count == 0 ? "[green]0[/]" : $"[red]{mine.Count}[/]",
                        mine.Count == 0 ? "" : Markup.Escape($"event {mine[0].EventIndex}: {mine[0].Message}"));
                }
                AnsiConsole.Write(table);
            }
            return result.Violations.Count == 0 ? ExitCodes.Ok : ExitCodes.Violations;
        });
        return command;
    }
}
