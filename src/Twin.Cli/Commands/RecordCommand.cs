using System.CommandLine;
using Serilog;
using Twin.Traces.Record;

namespace Twin.Cli.Commands;

/// <summary><c>twin record -- CMD</c>: a real trace of a command, ready for <c>twin import</c>.</summary>
public static class RecordCommand
{
    public static Command Create()
    {
        var cmd = new Argument<string[]>("command") { Description = "the command to record, after --", Arity = ArgumentArity.ZeroOrMore };
        var output = new Option<string>("--output", "-o") { Description = "trace file to write (a TRACE.tasks side file goes beside it)", DefaultValueFactory = _ => "runs/recorded.trace" };
        var buffer = new Option<int>("--buffer-kb") { Description = "ring buffer per CPU, in KB", DefaultValueFactory = _ => 16384 };
        var tracefs = new Option<string>("--tracefs") { Description = "where tracefs is mounted", DefaultValueFactory = _ => "/sys/kernel/tracing" };
        var verbose = CommonOptions.Verbose();
        var command = new Command("record", "Record a real kernel trace of a command through tracefs (root)") { cmd, output, buffer, tracefs, verbose };
        command.SetAction(parse =>
        {
            ILogger log = Logging.Create(parse.GetValue(verbose));
            int kb = parse.GetValue(buffer);
            if (kb < 64) throw new UsageException($"--buffer-kb {kb}: give at least 64");
            string path = parse.GetValue(output)!;
            RecordResult r = new TraceRecorder(parse.GetValue(tracefs)!).Record(parse.GetValue(cmd) ?? [], path, kb);
            foreach (string m in r.MissingEvents) log.Warning("this kernel has no {Event} event; the trace goes without it", m);
            log.Information("wrote {Path} ({Lines} lines) and {Tasks}; the command exited {Code}", r.TracePath, r.Lines, r.TasksPath, r.ExitCode);
            Console.WriteLine($"check it with: twin import {r.TracePath}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
