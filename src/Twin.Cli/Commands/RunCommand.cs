using System.CommandLine;
using Serilog;
using Twin.Cli.Presentation;
using Twin.Persistence;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Cli.Commands;

/// <summary><c>twin run</c>: one simulation into a journal.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "JSON config file (keys: docs/config.md); default: built-in defaults, as config/default.json" };
        var seed = new Option<ulong?>("--seed") { Description = "seed of the run (overrides 'seed')" };
        var events = new Option<long?>("--events") { Description = "stop after this many journaled events (overrides 'run.events')" };
        var cpus = new Option<int?>("--cpus") { Description = "simulated CPUs, 1-256 (overrides 'cpus')" };
        var scenario = new Option<string?>("--scenario") { Description = "scenario file (docs/scenarios.md): tasks and their steps instead of the random workload" };
        var arch = new Option<string?>("--arch") { Description = "architecture profile: x86_64, x86_64-pti, arm64, powerpc, riscv (overrides 'arch')" };
        var bug = new Option<string[]>("--bug") { Description = "put a historical kernel bug back (B2, B3, B4, B5, B6, B8, B8b, B11, B12); repeatable" };
        var set = new Option<string[]>("--set") { Description = "override any config key: --set workload.processes=8 (repeatable)", AllowMultipleArgumentsPerToken = false };
        var journal = new Option<string>("--journal") { Description = "journal URI: sqlite:PATH or memory:", DefaultValueFactory = _ => CommonOptions.DefaultJournal };
        var runId = new Option<string?>("--run-id") { Description = "name of the run in the journal (default: seed and time)" };
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("run", "Run one simulation and journal every event") { config, scenario, seed, events, cpus, arch, bug, set, journal, runId, json, verbose };
        command.SetAction(parse =>
        {
            var overrides = new List<(string, string, string)>();
            if (parse.GetValue(seed) is ulong s) overrides.Add(("seed", s.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seed"));
            if (parse.GetValue(events) is long e) overrides.Add(("run.events", e.ToString(System.Globalization.CultureInfo.InvariantCulture), "--events"));
            if (parse.GetValue(cpus) is int c) overrides.Add(("cpus", c.ToString(System.Globalization.CultureInfo.InvariantCulture), "--cpus"));
            if (parse.GetValue(arch) is string a) overrides.Add(("arch", a, "--arch"));
            int bugIndex = 100;
            foreach (string b in parse.GetValue(bug) ?? []) overrides.Add(($"bugs.{bugIndex++}", b, $"--bug {b}"));
            foreach (string assignment in parse.GetValue(set) ?? [])
            {
                (string key, string value) = ConfigLoader.ParseAssignment(assignment);
                overrides.Add((key, value, $"--set {assignment}"));
            }
            TwinConfig effective = ConfigLoader.Load(parse.GetValue(config), overrides, parse.GetValue(scenario));
            return Execute(effective, parse.GetValue(journal)!, parse.GetValue(runId), parse.GetValue(json), parse.GetValue(verbose));
        });
        return command;
    }

    private static int Execute(TwinConfig config, string journalUri, string? runId, bool json, bool verbose)
    {
        ILogger log = Logging.Create(verbose);
        runId ??= $"{config.Seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..4]}";
        using IJournal journal = JournalUri.Open(journalUri, create: true);
        log.Information("run {RunId}: seed {Seed}, {Arch}, {Cpus} CPUs, {Events} events into {Journal}",
            runId, config.Seed, config.Kernel.Arch.Name, config.Kernel.Cpus, config.Events, journal.Uri);
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, args) =>
        {
            args.Cancel = true;
            interrupt.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            SimulationResult result = new BackgroundWork().Run($"run {runId}", showBar: !json, log, work =>
                SimulationRunner.Run(config, journal, runId,
                    p => work.Report((double)p.Events / p.TargetEvents,
                        $"{p.Events:N0}/{p.TargetEvents:N0} events, {p.CommittedEvents:N0} committed, virtual {p.VirtualTimeNs / 1e6:F1} ms"),
                    interrupt.Token));
            if (interrupt.IsCancellationRequested) log.Warning("interrupted: stopped after {Events} events, all committed", result.Events);
            log.Information("run {RunId} done: {Events} events committed, state hash {Hash}", runId, result.Events, SimulationResult.FormatHash(result.StateHash));
            ResultPrinter.Print(result, json, "twin run");
            return result.Violations.Count == 0 ? ExitCodes.Ok : ExitCodes.Violations;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
