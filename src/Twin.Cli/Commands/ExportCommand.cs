using System.CommandLine;
using System.Globalization;
using Serilog;
using Twin.Cli.Presentation;
using Twin.Persistence;
using Twin.Simulation.Export;
using Twin.Simulation.Replay;
using Twin.Traces.Export;
using Twin.Traces.Ftrace;
using Twin.Traces.Journal;
using Twin.Traces.Replay;

namespace Twin.Cli.Commands;

/// <summary><c>twin export</c>: a journaled run as an HTML report or a Perfetto/Chrome trace.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var uri = new Argument<string>("journal") { Description = "journal URI, e.g. sqlite:runs/twin.db, or a real trace file (as twin import reads it)" };
        var run = CommonOptions.RunId();
        var html = new Option<string?>("--html") { Description = "write a self-contained HTML report with a per-CPU timeline" };
        var perfetto = new Option<string?>("--perfetto") { Description = "write Chrome/Perfetto trace JSON (open in ui.perfetto.dev)" };
        var events = new Option<string?>("--events") { Description = "event range A..B to show (of a trace: its lines; default: around the first violation, else the first 3000)" };
        var verbose = CommonOptions.Verbose();
        var command = new Command("export", "Export a run as an HTML timeline or a Perfetto trace") { uri, run, html, perfetto, events, verbose };
        command.SetAction(parse =>
        {
            ILogger log = Logging.Create(parse.GetValue(verbose));
            string? htmlPath = parse.GetValue(html), perfettoPath = parse.GetValue(perfetto);
            if (htmlPath is null && perfettoPath is null) throw new UsageException("give --html FILE, --perfetto FILE or both");
            (long, long)? window = parse.GetValue(events) is string range ? ParseRange(range) : null;
            Timeline timeline = Read(parse.GetValue(uri)!, parse.GetValue(run), window, log);
            if (htmlPath is not null)
            {
                OutputFile.Write(htmlPath, stream =>
                {
                    using var writer = new StreamWriter(stream);
                    HtmlExporter.Write(timeline, writer);
                });
                log.Information("wrote {Path}: {Events} events, {Violations} violation(s)", htmlPath, timeline.Events.Count, timeline.Violations.Count);
            }
            if (perfettoPath is not null)
            {
                OutputFile.Write(perfettoPath, stream => PerfettoExporter.Write(timeline, stream));
                log.Information("wrote {Path}: open it in ui.perfetto.dev", perfettoPath);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>A simulation run, a trace run of a journal, or a trace file (a path without a journal scheme), as a timeline.</summary>
    private static Timeline Read(string target, string? runId, (long, long)? window, ILogger log)
    {
        if (!target.Contains(':', StringComparison.Ordinal) && File.Exists(target))
        {
            FtraceReader.EnsureExists(target);
            return new BackgroundWork().Run($"export {target}", showBar: false, log, _ => TraceTimeline.FromFile(target, window));
        }
        using IJournal journal = JournalUri.Open(target, create: false);
        RunInfo info = RunSelection.Select(journal, runId);
        if (TraceJournal.IsTrace(info)) return new BackgroundWork().Run($"export {info.RunId}", showBar: false, log, _ => TraceTimeline.FromJournal(journal, info, window));
        return new BackgroundWork().Run($"export {info.RunId}", showBar: true, log, _ => TimelineRecorder.Record(journal, info, window));
    }

    private static (long, long) ParseRange(string text)
    {
        string[] p = text.Split("..");
        if (p.Length == 2 && long.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out long a)
            && long.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out long b) && a >= 1 && b >= a)
        {
            return (a, b);
        }
        throw new UsageException($"--events '{text}': expected A..B with 1 <= A <= B");
    }
}
