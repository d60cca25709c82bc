using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Serilog;
using Spectre.Console;
using Twin.Checking;
using Twin.Cli.Presentation;
using Twin.Simulation.Config;
using Twin.Simulation.Soak;

namespace Twin.Cli.Commands;

/// <summary><c>twin soak</c>: many seeds, in parallel, hunting for violations.</summary>
public static class SoakCommand
{
    public static Command Create()
    {
        var options = new ConfigOptions();
        var seeds = new Option<string>("--seeds") { Description = "seed range A..B (inclusive)", DefaultValueFactory = _ => "1..100" };
        var workers = new Option<int>("--workers") { Description = "runs at once (default: one per core)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var first = new Option<bool>("--first") { Description = "stop at the first failing seed" };
        var journal = new Option<string?>("--journal") { Description = "journal for failing runs (re-run into it for replay, export and shrink), e.g. sqlite:runs/soak.db" };
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("soak", "Run many seeds and report every guarantee violation found");
        options.AddTo(command, withSeed: false);
        command.Add(seeds);
        command.Add(workers);
        command.Add(first);
        command.Add(journal);
        command.Add(json);
        command.Add(verbose);
        command.SetAction(parse =>
        {
            TwinConfig config = options.Load(parse);
            (ulong a, ulong b) = CommonOptions.ParseSeeds(parse.GetValue(seeds)!);
            int n = parse.GetValue(workers);
            if (n < 1 || n > 256) throw new UsageException($"--workers {n}: must be between 1 and 256");
            return Execute(config, a, b, n, parse.GetValue(first), parse.GetValue(journal), parse.GetValue(json), parse.GetValue(verbose));
        });
        return command;
    }

    private static int Execute(TwinConfig config, ulong firstSeed, ulong lastSeed, int workers, bool first, string? journal, bool json, bool verbose)
    {
        ILogger log = Logging.Create(verbose);
        string bugs = config.Kernel.Bugs == 0 ? "no bug" : $"bugs {config.Kernel.Bugs}";
        log.Information("soak seeds {First}..{Last} on {Workers} workers: {Arch}, {Cpus} CPUs, {Events} events per run, {Bugs}",
            firstSeed, lastSeed, workers, config.Kernel.Arch.Name, config.Kernel.Cpus, config.Events, bugs);
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, args) =>
        {
            args.Cancel = true;
            interrupt.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        SoakResult result;
        try
        {
            result = new BackgroundWork().Run("soak", showBar: !json, log, work => SoakRunner.Run(config, firstSeed, lastSeed, workers, first, journal,
                p => work.Report((double)p.RunsDone / p.RunsPlanned,
                    $"{p.RunsDone}/{p.RunsPlanned} runs, {p.Events:N0} events ({p.Events / Math.Max(p.WallSeconds, 1e-9):N0}/s), {p.FailingRuns} failing"),
                interrupt.Token));
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        Print(result, json);
        return result.Failing.Any() ? ExitCodes.Violations : ExitCodes.Ok;
    }

    private static void Print(SoakResult r, bool json)
    {
        if (json)
        {
            var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                w.WriteNumber("runs", r.Runs.Count);
                w.WriteNumber("events", r.Events);
                w.WriteNumber("wallSeconds", Math.Round(r.WallSeconds, 3));
                w.WriteNumber("eventsPerSecond", Math.Round(r.EventsPerSecond));
                w.WriteNumber("failingRuns", r.Failing.Count());
                w.WriteBoolean("stoppedAtFirst", r.StoppedAtFirst);
                w.WriteStartArray("violations");
                foreach (SoakRun run in r.Failing)
                {
                    foreach (Violation v in run.Violations.Take(5))
                    {
                        w.WriteStartObject();
                        w.WriteNumber("seed", run.Seed);
                        w.WriteString("property", v.Property);
                        w.WriteNumber("timeNs", v.TimeNs);
                        w.WriteNumber("cpu", v.Cpu);
                        w.WriteNumber("mm", v.Mm);
                        w.WriteNumber("eventIndex", v.EventIndex);
                        w.WriteString("message", v.Message);
                        w.WriteString("journal", run.Journal);
                        w.WriteEndObject();
                    }
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            Console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            return;
        }
        AnsiConsole.MarkupLine($"[bold]twin soak[/]: {r.Runs.Count} runs, {r.Events:N0} events in {r.WallSeconds:F1} s ({r.EventsPerSecond:N0} events/s)");
        var byProperty = r.Failing.SelectMany(run => run.Violations.Select(v => (run, v))).GroupBy(x => x.v.Property).OrderBy(g => g.Key, StringComparer.Ordinal);
        var table = new Table().Border(TableBorder.Rounded).AddColumn("property").AddColumn("failing runs").AddColumn("first seed").AddColumn("first violation");
        foreach (var g in byProperty)
        {
            var firstOne = g.OrderBy(x => x.run.Seed).ThenBy(x => x.v.EventIndex).First();
            table.AddRow(Markup.Escape(g.Key), g.Select(x => x.run.Seed).Distinct().Count().ToString(CultureInfo.InvariantCulture),
                firstOne.run.Seed.ToString(CultureInfo.InvariantCulture), Markup.Escape(firstOne.v.Message));
        }
        if (table.Rows.Count == 0) AnsiConsole.MarkupLine("[green]no violation[/]");
        else AnsiConsole.Write(table);
        foreach (SoakRun run in r.Failing.Where(f => f.Journal is not null).Take(5))
        {
            AnsiConsole.MarkupLine($"seed {run.Seed}: journaled in {Markup.Escape(run.Journal!)}");
        }
    }
}
