using System.CommandLine;
using System.Text.Json;
using Serilog;
using Spectre.Console;
using Twin.Cli.Presentation;
using Twin.Simulation.Bench;

namespace Twin.Cli.Commands;

/// <summary><c>twin bench</c>: end-to-end throughput figures, each a median, with the bare event loop as the yardstick.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var events = new Option<long>("--events") { Description = "events per simulation", DefaultValueFactory = _ => 1_000_000 };
        var reps = new Option<int>("--reps") { Description = "repetitions per figure (the median is reported)", DefaultValueFactory = _ => 3 };
        var trace = new Option<string?>("--trace") { Description = "ftrace file for the import figure (default: replays/ftrace/mix-2t-global.trace of this checkout)" };
        var postgres = new Option<string?>("--postgres") { Description = "a PostgreSQL server (Npgsql connection string or postgres: URI) for the simulate-into-PostgreSQL figure; each repetition uses a fresh schema" };
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("bench", "Measure simulation, journal, replay and import throughput") { events, reps, trace, postgres, json, verbose };
        command.SetAction(parse =>
        {
            ILogger log = Logging.Create(parse.GetValue(verbose));
            long n = parse.GetValue(events);
            int r = parse.GetValue(reps);
            if (n < 1000) throw new UsageException($"--events {n}: give at least 1000");
            if (r < 1) throw new UsageException($"--reps {r}: give at least 1");
            string? tracePath = parse.GetValue(trace) ?? FindReplayTrace();
            if (parse.GetValue(trace) is string t && !File.Exists(t)) throw new UsageException($"--trace '{t}' does not exist");
            string? pg = parse.GetValue(postgres) is string p ? (p.StartsWith("postgres:", StringComparison.Ordinal) ? p["postgres:".Length..] : p) : null;
            if (pg is not null)
            {
                try
                {
                    _ = new Npgsql.NpgsqlConnectionStringBuilder(pg);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException($"--postgres '{pg}': not an Npgsql connection string ({e.Message.TrimEnd('.')})");
                }
            }
            string work = Directory.CreateTempSubdirectory("twin-bench-").FullName;
            IReadOnlyList<BenchFigure> figures;
            try
            {
                figures = new BackgroundWork().Run("bench", showBar: false, log, _ => BenchRunner.Run(n, r, tracePath, work, line => log.Information("{Line}", line), pg));
            }
            finally
            {
                Directory.Delete(work, recursive: true);
            }
            if (parse.GetValue(json)) PrintJson(figures, n, r);
            else PrintTable(figures, n, r);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string? FindReplayTrace()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (string? dir = start; dir is not null; dir = Path.GetDirectoryName(dir))
            {
                string candidate = Path.Combine(dir, "replays", "ftrace", "mix-2t-global.trace");
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    private static void PrintTable(IReadOnlyList<BenchFigure> figures, long events, int reps)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"twin bench: {events:N0} events, median of {reps}")
            .AddColumn("figure").AddColumn(new TableColumn("value").RightAligned()).AddColumn("unit").AddColumn(new TableColumn("× bare loop").RightAligned())
            .AddColumn(new TableColumn("peak WS").RightAligned()).AddColumn("");
        foreach (BenchFigure f in figures)
        {
            table.AddRow(Markup.Escape(f.Name), $"{f.Value:N0}", f.Unit, f.RatioToBareLoop is double x ? $"{x:F3}" : "", $"{f.PeakWorkingSetBytes / (1024 * 1024):N0} MB", Markup.Escape(f.Note));
        }
        AnsiConsole.Write(table);
    }

    private static void PrintJson(IReadOnlyList<BenchFigure> figures, long events, int reps)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout))
        {
            w.WriteStartObject();
            w.WriteString("command", "twin bench");
            w.WriteNumber("events", events);
            w.WriteNumber("reps", reps);
            w.WriteStartArray("figures");
            foreach (BenchFigure f in figures)
            {
                w.WriteStartObject();
                w.WriteString("name", f.Name);
                w.WriteNumber("value", Math.Round(f.Value));
                w.WriteString("unit", f.Unit);
                if (f.RatioToBareLoop is double x) w.WriteNumber("ratioToBareLoop", Math.Round(x, 4));
                w.WriteNumber("peakWorkingSetBytes", f.PeakWorkingSetBytes);
                if (f.Note.Length > 0) w.WriteString("note", f.Note);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }
}
