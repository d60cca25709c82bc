using System.CommandLine;
using System.Text.Json;
using Serilog;
using Twin.Cli.Presentation;
using Twin.Simulation.Config;
using Twin.Simulation.Litmus;

namespace Twin.Cli.Commands;

/// <summary><c>twin litmus</c>: a litmus scenario over many seeds, its final states counted as herd7 prints them.</summary>
public static class LitmusCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("scenario") { Description = "a scenario file with store/load steps and a forbid object (config/scenarios/litmus/)" };
        var seeds = new Option<string>("--seeds") { Description = "seed range A..B (inclusive)", DefaultValueFactory = _ => "1..200" };
        var omit = new Option<string[]>("--omit") { Description = "leave a site out: a site name (membarrier.a, switch_mm.cr3.mb, ...) or a barrier reason (every site of it, e.g. MembarrierEntry); repeatable, or comma-separated" };
        var arch = new Option<string?>("--arch") { Description = "architecture profile (overrides the scenario's)" };
        var set = new Option<string[]>("--set") { Description = "override any config key, repeatable" };
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("litmus", "Run a litmus scenario over many seeds and count its outcomes") { file, seeds, omit, arch, set, json, verbose };
        command.SetAction(parse =>
        {
            ILogger log = Logging.Create(parse.GetValue(verbose));
            (ulong first, ulong last) = CommonOptions.ParseSeeds(parse.GetValue(seeds)!);
            var overrides = new List<(string, string, string)>();
            int omitIndex = 100;
            foreach (string o in parse.GetValue(omit) ?? []) overrides.Add(($"omit.{omitIndex++}", o, $"--omit {o}"));
            if (parse.GetValue(arch) is string a) overrides.Add(("arch", a, "--arch"));
            foreach (string assignment in parse.GetValue(set) ?? [])
            {
                (string key, string value) = ConfigLoader.ParseAssignment(assignment);
                overrides.Add((key, value, $"--set {assignment}"));
            }
            string path = parse.GetValue(file)!;
            LitmusResult r = new BackgroundWork().Run($"litmus {path}", showBar: false, log, _ => LitmusRunner.Run(path, overrides, first, last));
            if (parse.GetValue(json)) PrintJson(r);
            else Print(r);
            return r.ForbiddenCount == 0 ? ExitCodes.Ok : ExitCodes.Violations;
        });
        return command;
    }

    private static void Print(LitmusResult r)
    {
        Console.WriteLine($"Test {r.Name}");
        Console.WriteLine($"States {r.Outcomes.Count}");
        foreach (LitmusOutcome o in r.Outcomes) Console.WriteLine($"{o.State}; => {o.Count}{(o.Forbidden ? "   (forbidden)" : "")}");
        Console.WriteLine(r.ForbiddenCount == 0 ? "Ok" : "No");
        Console.WriteLine($"Condition forbid ({r.ForbiddenState})");
        Console.WriteLine($"Observation {(r.ForbiddenCount == 0 ? "Never" : "Sometimes")} {r.ForbiddenCount} {r.Runs - r.ForbiddenCount}");
        if (r.ViolationsByProperty.Count > 0)
        {
            Console.WriteLine($"Checkers: {string.Join(", ", r.ViolationsByProperty.Select(p => $"{p.Key} in {p.Value} runs"))}");
        }
    }

    private static void PrintJson(LitmusResult r)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout))
        {
            w.WriteStartObject();
            w.WriteString("command", "twin litmus");
            w.WriteString("name", r.Name);
            w.WriteNumber("runs", r.Runs);
            w.WriteString("forbidden", r.ForbiddenState);
            w.WriteNumber("forbiddenObserved", r.ForbiddenCount);
            w.WriteStartArray("outcomes");
            foreach (LitmusOutcome o in r.Outcomes)
            {
                w.WriteStartObject();
                w.WriteString("state", o.State);
                w.WriteNumber("count", o.Count);
                w.WriteBoolean("forbidden", o.Forbidden);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("violationsByProperty");
            foreach ((string p, int n) in r.ViolationsByProperty) w.WriteNumber(p, n);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }
}
