using System.CommandLine;
using Twin.Simulation.Config;

namespace Twin.Cli.Commands;

/// <summary>The config flags shared by run and soak: file, scenario, seed, events, cpus, arch, bugs, faults, omitted sites, --set.</summary>
public sealed class ConfigOptions
{
    public Option<string?> Config { get; } = new("--config") { Description = "JSON config file (keys: docs/config.md); default: built-in defaults, as config/default.json" };

    public Option<string?> Scenario { get; } = new("--scenario") { Description = "scenario file (docs/scenarios.md): tasks and their steps instead of the random workload" };

    public Option<ulong?> Seed { get; } = new("--seed") { Description = "seed of the run (overrides 'seed')" };

    public Option<long?> Events { get; } = new("--events") { Description = "stop after this many journaled events (overrides 'run.events')" };

    public Option<int?> Cpus { get; } = new("--cpus") { Description = "simulated CPUs, 1-256 (overrides 'cpus')" };

    public Option<string?> Arch { get; } = new("--arch") { Description = "architecture profile: x86_64, x86_64-pti, arm64, powerpc, riscv (overrides 'arch')" };

    public Option<string[]> Fault { get; } = new("--fault") { Description = "inject a fault, e.g. ipi-drop:ipi=mb,p=0.1 or skip-barrier:reason=IpiHandler,once (docs/faults.md); repeatable" };

    public Option<string[]> Bug { get; } = new("--bug") { Description = "put a kernel bug back (B2 … B23, docs/bugs/README.md); repeatable" };

    public Option<bool> WeakMemory { get; } = new("--weak-memory") { Description = "weak-memory mode: user loads and stores through store buffers, rq->curr too, checked by P-OBS (sets memory.weak)" };

    public Option<string[]> Omit { get; } = new("--omit") { Description = "leave a barrier or core-serializing site out of the model: a site (membarrier.a, switch_mm.cr3.mb, ...; docs/mutate.md) or a barrier reason; repeatable, or comma-separated" };

    public Option<string[]> Set { get; } = new("--set") { Description = "override any config key: --set workload.processes=8 (repeatable)" };

    /// <summary>
    /// The swarm of <paramref name="config"/>: each seed draws its config, but for the keys the
    /// user gave (<paramref name="given"/>); none with a scenario file, whose tasks replace the random workload.
    /// </summary>
    public static TwinConfig Swarming(TwinConfig config, IEnumerable<string> given) =>
        config.Kernel.Tasks is not null ? config with { Swarm = null }
        : config with { Swarm = new SwarmSpec([.. given.Where(k => !k.StartsWith("swarm.", StringComparison.OrdinalIgnoreCase) && k is not ("seed" or "bugs" or "omit"))]) };

    public void AddTo(Command command, bool withSeed = true)
    {
        command.Add(Config);
        command.Add(Scenario);
        if (withSeed) command.Add(Seed);
        command.Add(Events);
        command.Add(Cpus);
        command.Add(Arch);
        command.Add(Bug);
        command.Add(Fault);
        command.Add(Omit);
        command.Add(WeakMemory);
        command.Add(Set);
    }

    /// <summary>True when any config flag was given.</summary>
    public bool AnyGiven(ParseResult parse) =>
        ((Option[])[Config, Scenario, Seed, Events, Cpus, Arch, Bug, Fault, Omit, WeakMemory, Set]).Any(o => parse.GetResult(o) is { Implicit: false });

    /// <summary>The effective config from the parsed flags.</summary>
    /// <param name="given">When set, receives every config key the flags, the config file and the scenario gave.</param>
    public TwinConfig Load(ParseResult parse, ISet<string>? given = null)
    {
        var overrides = new List<(string, string, string)>();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (parse.GetValue(Seed) is ulong s) overrides.Add(("seed", s.ToString(inv), "--seed"));
        if (parse.GetValue(Events) is long e) overrides.Add(("run.events", e.ToString(inv), "--events"));
        if (parse.GetValue(Cpus) is int c) overrides.Add(("cpus", c.ToString(inv), "--cpus"));
        if (parse.GetValue(Arch) is string a) overrides.Add(("arch", a, "--arch"));
        int bugIndex = 100;
        foreach (string b in parse.GetValue(Bug) ?? []) overrides.Add(($"bugs.{bugIndex++}", b, $"--bug {b}"));
        int faultIndex = 100;
        foreach (string f in parse.GetValue(Fault) ?? []) overrides.Add(($"faults.{faultIndex++}", f, "--fault"));
        if (parse.GetValue(WeakMemory)) overrides.Add(("memory.weak", "true", "--weak-memory"));
        int omitIndex = 100;
        foreach (string o in parse.GetValue(Omit) ?? []) overrides.Add(($"omit.{omitIndex++}", o, $"--omit {o}"));
        foreach (string assignment in parse.GetValue(Set) ?? [])
        {
            (string key, string value) = ConfigLoader.ParseAssignment(assignment);
            overrides.Add((key, value, $"--set {assignment}"));
        }
        return ConfigLoader.Load(parse.GetValue(Config), overrides, parse.GetValue(Scenario), given);
    }
}
