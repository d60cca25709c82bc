using System.CommandLine;
using System.Text.Json;
using Serilog;
using Spectre.Console;
using Twin.Checking;
using Twin.Cli.Presentation;
using Twin.Kernel.Arch;
using Twin.Simulation.Conformance;
using Twin.Simulation.Soak;

namespace Twin.Cli.Commands;

/// <summary><c>twin conform</c>: the kernel model makes each traced membarrier call again from the trace's state; where it differs is printed.</summary>
public static class ConformCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("trace") { Description = "a real kernel trace, in any layout twin import reads" };
        var arch = new Option<string>("--arch") { Description = "the traced machine's architecture profile", DefaultValueFactory = _ => "x86_64" };
        var seed = new Option<ulong>("--seed") { Description = "seed of the model's runs (its timing)", DefaultValueFactory = _ => 1 };
        var strict = new Option<bool>("--strict") { Description = "stop at the first line that does not parse (exit 2)" };
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("conform", "Drive the kernel model with a trace's state at each membarrier call and report where the model's IPIs or return value differ from the kernel's")
            { file, arch, seed, strict, json, verbose };
        command.SetAction(parse =>
        {
            ILogger log = Logging.Create(parse.GetValue(verbose));
            string name = parse.GetValue(arch)!;
            ArchProfile profile = ArchProfile.Find(name)
                ?? throw new UsageException($"--arch '{name}': expected one of {string.Join(", ", ArchProfile.All.Select(p => p.Name))}");
            string path = parse.GetValue(file)!;
            ConformanceResult r = new BackgroundWork().Run($"conform {path}", showBar: false, log,
                _ => ConformanceRunner.Run(path, profile, parse.GetValue(seed), parse.GetValue(strict)));
            if (parse.GetValue(json)) PrintJson(r);
            else Print(r);
            return r.Check.Divergences.Count == 0 && r.Check.Aspects.Values.All(t => t.Violated == 0) ? ExitCodes.Ok : ExitCodes.Violations;
        });
        return command;
    }

    private static void Print(ConformanceResult r)
    {
        ConformanceCheck c = r.Check;
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"twin conform {Markup.Escape(Path.GetFileName(r.Trace))}: {c.Calls:N0} membarrier calls, {c.Experiments:N0} model runs ({r.Arch}, seed {r.Seed})")
            .AddColumn("model vs kernel").AddColumn(new TableColumn("agree").RightAligned()).AddColumn(new TableColumn("diverge").RightAligned())
            .AddColumn(new TableColumn("undecidable").RightAligned()).AddColumn("first divergence, or why most undecidable cases are");
        foreach ((string aspect, PropertyTally t) in c.Aspects)
        {
            table.AddRow(aspect, $"{t.Checked - t.Violated:N0}", t.Violated == 0 ? "[green]0[/]" : $"[red]{t.Violated:N0}[/]", $"{t.Undecidable:N0}",
                t.Violations.Count > 0 ? Markup.Escape(t.Violations[0].Message)
                : t.Undecidable > 0 ? Markup.Escape($"undecidable: {t.UndecidableReasons.MaxBy(p => p.Value).Key}") : "");
        }
        AnsiConsole.Write(table);
        foreach (Divergence d in c.Divergences.Skip(1)) Console.WriteLine($"{d.Aspect}: {d.Message}");
    }

    private static void PrintJson(ConformanceResult r)
    {
        ConformanceCheck c = r.Check;
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout))
        {
            w.WriteStartObject();
            w.WriteString("command", "twin conform");
            w.WriteString("trace", r.Trace);
            w.WriteString("arch", r.Arch);
            w.WriteNumber("seed", r.Seed);
            w.WriteNumber("lines", r.Read.Lines);
            w.WriteNumber("unparsed", r.Read.Unparsed);
            w.WriteNumber("calls", c.Calls);
            w.WriteNumber("modelRuns", c.Experiments);
            w.WriteStartArray("divergences");
            foreach (Divergence d in c.Divergences)
            {
                w.WriteStartObject();
                w.WriteString("aspect", d.Aspect);
                w.WriteNumber("line", d.Line);
                w.WriteNumber("returnLine", d.ReturnLine);
                w.WriteNumber("timeNs", d.TimeNs);
                w.WriteNumber("cpu", d.Cpu);
                w.WriteNumber("task", d.Task);
                w.WriteString("command", d.Command);
                w.WriteString("trace", d.Trace);
                w.WriteString("model", d.Model);
                w.WriteString("message", d.Message);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("violations");
            foreach (Violation v in c.Aspects.Values.SelectMany(t => t.Violations))
            {
                w.WriteStartObject();
                ViolationJson.WriteFields(w, v);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("aspects");
            foreach ((string aspect, PropertyTally t) in c.Aspects)
            {
                w.WriteStartObject(aspect);
                w.WriteNumber("agree", t.Checked - t.Violated);
                w.WriteNumber("diverge", t.Violated);
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
