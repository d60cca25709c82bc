using System.CommandLine;
using System.Text.Json;
using Serilog;
using Spectre.Console;
using Twin.Cli.Presentation;
using Twin.Checking;
using Twin.Persistence;
using Twin.Simulation;
using Twin.Simulation.Soak;
using Twin.Traces.Ftrace;
using Twin.Traces.Journal;
using Twin.Traces.Replay;

namespace Twin.Cli.Commands;

/// <summary>
/// <c>twin import</c>: reads a real ftrace recording and reports what it holds. Reconstruction
/// into a journal and checking come next (docs/trace-import.md says what is there so far).
/// </summary>
public static class ImportCommand
{
    private static readonly string[] s_tlbReasons = ["flush on task switch", "remote shootdown", "local shootdown", "local mm shootdown", "remote IPI send", "remote wrong CPU", "6", "other"];

    public static Command Create()
    {
        var file = new Argument<string>("trace") { Description = "ftrace text: /sys/kernel/tracing/trace or trace-cmd report output" };
        var strict = new Option<bool>("--strict") { Description = "stop at the first line that does not parse (exit 2)" };
        var journal = new Option<string?>("--journal") { Description = "also keep the parsed trace in this journal (sqlite:PATH, postgres:...), for twin check URI later" };
        var runId = new Option<string?>("--run-id") { Description = "the run's name in the journal (default: trace-FILE-TIME)" };
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("import", "Read a real kernel trace (ftrace text), summarize it and check membarrier's guarantees on it") { file, strict, journal, runId, json, verbose };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            ILogger log = Logging.Create(parse.GetValue(verbose));
            string? uri = parse.GetValue(journal);
            if (uri is null) return CheckTrace(path, parse.GetValue(strict), parse.GetValue(json), log);
            string id = parse.GetValue(runId) ?? $"trace-{Path.GetFileNameWithoutExtension(path)}-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
            return ImportIntoJournal(path, uri, id, parse.GetValue(strict), parse.GetValue(json), log);
        });
        return command;
    }

    private static int ImportIntoJournal(string path, string uri, string runId, bool strict, bool json, ILogger log)
    {
        (Dictionary<int, int> tgids, HashSet<int> kthreads) = TraceCheck.TasksOf(path);
        var check = new TraceCheck(tgids, kthreads);
        using IJournal journal = JournalUri.Open(uri, create: true);
        ReadReport report = new BackgroundWork().Run($"import {path}", showBar: false, log, _ =>
            TraceJournal.Import(path, journal, runId, CodeVersion.Current, strict, tgids, kthreads, check));
        check.Finish();
        log.Information("{Path}: {Events:N0} trace events journaled as run {Run} in {Journal}", path, report.Events, runId, journal.Uri);
        return Present(report, check, json, log);
    }

    /// <summary><c>twin check URI</c> of an imported trace: the stored lines through the same checks.</summary>
    public static int CheckJournaledTrace(IJournal journal, RunInfo run, bool json, ILogger log)
    {
        (Dictionary<int, int> tgids, HashSet<int> kthreads) = TraceJournal.Tasks(run);
        var check = new TraceCheck(tgids, kthreads);
        new BackgroundWork().Run($"check {run.RunId}", showBar: false, log, _ => TraceJournal.Replay(journal, run, check));
        check.Finish();
        return Present(TraceJournal.Report(run), check, json, log);
    }

    private static int Present(ReadReport report, TraceCheck check, bool json, ILogger log)
    {
        foreach (UnparsedLine u in report.FirstUnparsed) log.Warning("{Path}:{Line}: {Reason}: {Text}", report.Path, u.Line, u.Reason, u.Text);
        if (report.Unparsed > report.FirstUnparsed.Count) log.Warning("... {More} more unparsed lines", report.Unparsed - report.FirstUnparsed.Count);
        SortedDictionary<string, PropertyTally> properties = check.Properties();
        if (json) PrintJson(report, check.Summary, properties);
        else PrintTable(report, check.Summary, properties);
        return properties.Values.Any(p => p.Violated > 0) ? ExitCodes.Violations : ExitCodes.Ok;
    }

    /// <summary>Reads, summarizes and checks a trace; also what <c>twin check TRACE</c> does. Exit 1 when a property is violated.</summary>
    public static int CheckTrace(string path, bool strict, bool json, ILogger log)
    {
        (ReadReport report, TraceCheck check) = new BackgroundWork().Run($"import {path}", showBar: false, log, _ => TraceCheck.Run(path, strict));
        log.Debug("{Path}: {Cpus} CPUs rebuilt", path, check.Reconstructor.Cpus);
        return Present(report, check, json, log);
    }

    private static void PrintTable(ReadReport r, TraceSummary s, SortedDictionary<string, PropertyTally> properties)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"twin import {Markup.Escape(Path.GetFileName(r.Path))}").AddColumn("").AddColumn("");
        table.AddRow("lines", $"{r.Lines:N0} ({r.Events:N0} events, {(r.Unparsed == 0 ? "[green]0[/]" : $"[red]{r.Unparsed:N0}[/]")} unparsed)");
        table.AddRow("CPUs", $"{(r.Cpus > 0 ? r.Cpus : s.CpusSeen)} ({s.CpusSeen} seen), {s.TasksSeen} tasks");
        table.AddRow("span", $"{(r.LastNs - r.FirstNs) / 1e6:N3} ms");
        table.AddRow("lost", r.Overwritten + r.Lost == 0 ? "nothing" : $"[yellow]{r.Overwritten:N0} overwritten, {r.Lost:N0} lost: the trace starts mid-stream[/]");
        table.AddRow("scheduler", $"{s.Count(TraceEventKind.SchedSwitch):N0} switches, {s.Count(TraceEventKind.SchedWakeup) + s.Count(TraceEventKind.SchedWakeupNew):N0} wakeups, "
            + $"{s.Count(TraceEventKind.SchedProcessFork)} forks, {s.Count(TraceEventKind.SchedProcessExec)} execs, {s.Count(TraceEventKind.SchedProcessExit)} exits");
        foreach ((int cmd, (long calls, long ok, long failed)) in s.Membarrier)
        {
            table.AddRow($"membarrier {Markup.Escape(TraceSummary.CommandName(cmd))}", $"{calls:N0} calls, {ok:N0} returned ≥ 0, {failed:N0} -errno");
        }
        table.AddRow("IPIs", $"{s.Count(TraceEventKind.IpiSendCpu):N0} ipi_send_cpu, {s.Count(TraceEventKind.IpiSendCpumask):N0} ipi_send_cpumask, {s.Count(TraceEventKind.CsdQueueCpu):N0} csd_queue_cpu");
        table.AddRow("IPI callbacks", string.Join(", ", Enum.GetValues<CsdFunc>().Where(f => s.Callbacks(f) > 0).Select(f => $"{CsdFuncNames.Of(f)} {s.Callbacks(f):N0}")));
        table.AddRow("tlb_flush", string.Join(", ", s.TlbFlushesByReason.Select((n, i) => (n, i)).Where(p => p.n > 0).Select(p => $"{s_tlbReasons[p.i]} ({p.i}) {p.n:N0}")));
        AnsiConsole.Write(table);
        var props = new Table().Border(TableBorder.Rounded).Title("membarrier's guarantees on this trace")
            .AddColumn("property").AddColumn(new TableColumn("checked").RightAligned()).AddColumn(new TableColumn("violated").RightAligned())
            .AddColumn(new TableColumn("undecidable").RightAligned()).AddColumn("first violation, or why most undecidable cases are");
        foreach ((string name, PropertyTally t) in properties)
        {
            props.AddRow(name, $"{t.Checked:N0}", t.Violated == 0 ? "[green]0[/]" : $"[red]{t.Violated:N0}[/]", $"{t.Undecidable:N0}",
                t.Violations.Count > 0 ? Markup.Escape(t.Violations[0].Message)
                : t.Checked + t.Undecidable == 0 ? "not applicable"
                : t.Undecidable > 0 ? Markup.Escape($"undecidable: {t.UndecidableReasons.MaxBy(p => p.Value).Key}") : "");
        }
        AnsiConsole.Write(props);
    }


    private static void PrintJson(ReadReport r, TraceSummary s, SortedDictionary<string, PropertyTally> properties)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout))
        {
            w.WriteStartObject();
            w.WriteString("command", "twin import");
            w.WriteString("trace", r.Path);
            w.WriteNumber("lines", r.Lines);
            w.WriteNumber("events", r.Events);
            w.WriteNumber("unparsed", r.Unparsed);
            w.WriteStartArray("firstUnparsed");
            foreach (UnparsedLine u in r.FirstUnparsed)
            {
                w.WriteStartObject();
                w.WriteNumber("line", u.Line);
                w.WriteString("reason", u.Reason);
                w.WriteString("text", u.Text);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("cpus", r.Cpus > 0 ? r.Cpus : s.CpusSeen);
            w.WriteNumber("tasks", s.TasksSeen);
            w.WriteNumber("overwritten", r.Overwritten);
            w.WriteNumber("lost", r.Lost);
            w.WriteNumber("spanNs", r.LastNs - r.FirstNs);
            w.WriteStartObject("eventsByKind");
            foreach (TraceEventKind k in Enum.GetValues<TraceEventKind>()) w.WriteNumber(JsonNamingPolicy.CamelCase.ConvertName(k.ToString()), s.Count(k));
            w.WriteEndObject();
            w.WriteStartObject("membarrier");
            foreach ((int cmd, (long calls, long ok, long failed)) in s.Membarrier)
            {
                w.WriteStartObject(TraceSummary.CommandName(cmd));
                w.WriteNumber("calls", calls);
                w.WriteNumber("ok", ok);
                w.WriteNumber("failed", failed);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartObject("ipiCallbacks");
            foreach (CsdFunc f in Enum.GetValues<CsdFunc>()) w.WriteNumber(CsdFuncNames.Of(f), s.Callbacks(f));
            w.WriteEndObject();
            w.WriteStartArray("tlbFlushesByReason");
            foreach (long n in s.TlbFlushesByReason) w.WriteNumberValue(n);
            w.WriteEndArray();
            // The same violation objects as every other verb prints (eventIndex is the trace line).
            w.WriteStartArray("violations");
            foreach (Violation v in properties.Values.SelectMany(t => t.Violations).OrderBy(v => v.EventIndex).ThenBy(v => v.Property, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                ViolationJson.WriteFields(w, v);
                w.WriteNumber("line", v.EventIndex);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("properties");
            foreach ((string name, PropertyTally t) in properties)
            {
                w.WriteStartObject(name);
                w.WriteNumber("checked", t.Checked);
                w.WriteNumber("violated", t.Violated);
                w.WriteNumber("undecidable", t.Undecidable);
                w.WriteStartObject("undecidableReasons");
                foreach ((string reason, long n) in t.UndecidableReasons) w.WriteNumber(reason, n);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }
}
