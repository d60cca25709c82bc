using Twin.Simulation.Config;
using Twin.Simulation.Running;
using Twin.Simulation.Scenarios;

namespace Twin.Simulation.Litmus;

/// <summary>One final state of the registers and how many runs ended in it.</summary>
public sealed record LitmusOutcome(string State, int Count, bool Forbidden);

/// <summary>A litmus test run over many seeds, as herd7 reports one: the states observed and whether the forbidden one was.</summary>
public sealed record LitmusResult(string Name, string ForbiddenState, int Runs, IReadOnlyList<LitmusOutcome> Outcomes,
    IReadOnlyDictionary<string, int> ViolationsByProperty)
{
    public int ForbiddenCount => Outcomes.Where(o => o.Forbidden).Sum(o => o.Count);
}

/// <summary>
/// Runs a scenario file with <c>store</c>/<c>load</c> steps under many seeds, each with the
/// store-buffer memory watching (the run observes memory because it has loads), and counts the
/// final register states.
/// The seeds vary the kernel's timing (step lengths, IPI latency), so the accesses land at
/// different points around the kernel's barriers.
/// </summary>
public static class LitmusRunner
{
    public static LitmusResult Run(string scenarioPath, IReadOnlyList<(string Key, string Value, string Source)> overrides, ulong firstSeed, ulong lastSeed)
    {
        ScenarioDefinition def = ScenarioParser.ParseFile(scenarioPath);
        if (def.Registers.Count == 0) throw new ConfigException($"scenario '{scenarioPath}' has no load step (nor sampled_into): not a litmus test");
        if (def.Forbidden.Count == 0) throw new ConfigException($"scenario '{scenarioPath}' has no forbid: say which register values are forbidden, e.g. \"forbid\": {{\"r1\": 0, \"r2\": 0}}");
        // One load: the seed is the only thing that changes between runs.
        TwinConfig loaded = ConfigLoader.Load(null, overrides, scenarioPath);
        LitmusSpec litmus = loaded.Litmus!;
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var forbiddenStates = new HashSet<string>(StringComparer.Ordinal);
        var byProperty = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (ulong seed = firstSeed; seed <= lastSeed; seed++)
        {
            SimulationResult result = SimulationRunner.Run(loaded with { Seed = seed }, journal: null, $"litmus-{seed}");
            string state = result.LitmusState!;
            counts[state] = counts.GetValueOrDefault(state) + 1;
            if (result.Violations.Any(v => v.Property == LitmusSpec.Property)) forbiddenStates.Add(state);
            foreach (string p in result.Violations.Select(v => v.Property).Where(p => p != LitmusSpec.Property).Distinct()) byProperty[p] = byProperty.GetValueOrDefault(p) + 1;
            if (seed == ulong.MaxValue) break;
        }
        return new LitmusResult(def.Name, litmus.ForbiddenState, (int)(lastSeed - firstSeed + 1),
            [.. counts.Select(c => new LitmusOutcome(c.Key, c.Value, forbiddenStates.Contains(c.Key)))], byProperty);
    }
}
