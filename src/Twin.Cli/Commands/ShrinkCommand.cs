using System.CommandLine;
using System.Text;
using System.Text.Json;
using Serilog;
using Twin.Cli.Presentation;
using Twin.Persistence;
using Twin.Simulation;
using Twin.Simulation.Config;
using Twin.Simulation.Replay;
using Twin.Simulation.Shrink;

namespace Twin.Cli.Commands;

/// <summary><c>twin shrink</c>: a failing run becomes the smallest scenario file that still fails the same way.</summary>
public static class ShrinkCommand
{
    public static Command Create()
    {
        var uri = new Argument<string>("journal") { Description = "journal URI holding the failing run, e.g. sqlite:runs/soak.db" };
        var run = CommonOptions.RunId();
        var output = new Option<string?>("--output", "-o") { Description = "scenario file to write (default: runs/shrunk-RUN.json)" };
        var property = new Option<string?>("--property") { Description = "the violation to keep, e.g. P-SC (default: the run's first)" };
        var maxRuns = new Option<int>("--max-runs") { Description = "at most this many simulations while shrinking", DefaultValueFactory = _ => Shrinker.DefaultMaxRuns };
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("shrink", "Shrink a failing run to a minimal scenario file") { uri, run, output, property, maxRuns, json, verbose };
        command.SetAction(parse =>
        {
            ILogger log = Logging.Create(parse.GetValue(verbose));
            int budget = parse.GetValue(maxRuns);
            if (budget < 1) throw new UsageException($"--max-runs {budget}: give at least 1");
            TwinConfig config;
            RunInfo info;
            using (IJournal journal = JournalUri.Open(parse.GetValue(uri)!, create: false))
            {
                info = RunSelection.SelectSimulation(journal, parse.GetValue(run), "shrink");
                config = ConfigLoader.FromRunJson(info.ConfigJson, $"{journal.Uri} run '{info.RunId}'");
                if (info.CodeVersion != CodeVersion.Current)
                {
                    log.Warning("run {RunId} was recorded by code {Recorded}; this is {Current}: it may fail differently now", info.RunId, info.CodeVersion, CodeVersion.Current);
                }
            }
            (ShrinkResult? shrunk, string? reason) = new BackgroundWork().Run($"shrink {info.RunId}", showBar: false, log, _ =>
                Shrinker.Shrink(config, parse.GetValue(property), budget, line => log.Information("{Line}", line)));
            if (shrunk is null) throw new UsageException($"run '{info.RunId}' cannot be shrunk: {reason}");
            string path = parse.GetValue(output) ?? Path.Combine("runs", $"shrunk-{info.RunId}.json");
            string scenario = ScenarioWriter.Write(shrunk, $"run {info.RunId}");
            OutputFile.Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(scenario)));
            if (parse.GetValue(json))
            {
                PrintJson(shrunk, path, info.RunId);
            }
            else
            {
                Console.WriteLine($"{shrunk.Violation.Property}: {shrunk.OriginalTasks} tasks / {shrunk.OriginalSteps} steps shrunk to "
                    + $"{shrunk.Draft.Tasks.Count} tasks / {shrunk.Draft.StepCount} steps on {shrunk.Draft.Cpus} CPUs in {shrunk.Runs} runs");
                Console.WriteLine($"wrote {path}; run it with: twin run --scenario {path}");
                Console.WriteLine();
                Console.Write(scenario);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void PrintJson(ShrinkResult s, string path, string runId)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout))
        {
            w.WriteStartObject();
            w.WriteString("command", "twin shrink");
            w.WriteString("runId", runId);
            w.WriteString("property", s.Violation.Property);
            w.WriteString("violation", s.Violation.Message);
            w.WriteString("scenario", path);
            w.WriteNumber("originalTasks", s.OriginalTasks);
            w.WriteNumber("originalSteps", s.OriginalSteps);
            w.WriteNumber("tasks", s.Draft.Tasks.Count);
            w.WriteNumber("steps", s.Draft.StepCount);
            w.WriteNumber("cpus", s.Draft.Cpus);
            w.WriteNumber("seed", s.Config.Seed);
            w.WriteNumber("runs", s.Runs);
            w.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }
}
