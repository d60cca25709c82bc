using System.Collections.Concurrent;

namespace Twin.Simulation.Tests;

/// <summary>
/// Refactors of the kernel model, the runtime and the journal keep every run the same, event for
/// event: the runs of <see cref="GoldenRuns"/> give the event hashes and state hashes recorded in
/// GoldenRuns.txt before the change. A change that is meant to alter runs records the file again
/// (<c>TWIN_GOLDEN_RECORD=1 dotnet test --filter GoldenRunsTests</c>, which writes the file and fails
/// so that a recording never passes by itself) in a commit that says why.
/// </summary>
public sealed class GoldenRunsTests
{
    private static readonly string File = RepoPaths.Of("tests/Twin.Simulation.Tests/GoldenRuns.txt");

    [Fact]
    public void every_golden_run_gives_the_events_and_state_it_gave_when_recorded()
    {
        var outcomes = new ConcurrentDictionary<string, GoldenRuns.Outcome>(StringComparer.Ordinal);
        Parallel.ForEach(GoldenRuns.All, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            c => outcomes[c.Name] = GoldenRuns.Run(c));

        if (Environment.GetEnvironmentVariable("TWIN_GOLDEN_RECORD") == "1")
        {
            System.IO.File.WriteAllLines(File,
                [
                    "# name<TAB>events eventsHash stateHash violations: tests/Twin.Simulation.Tests/GoldenRunsTests.cs",
                    .. GoldenRuns.All.Select(c => $"{c.Name}\t{outcomes[c.Name]}"),
                ]);
            Assert.Fail($"recorded {outcomes.Count} runs into {File}; run again without TWIN_GOLDEN_RECORD");
        }

        IReadOnlyDictionary<string, GoldenRuns.Outcome> recorded = GoldenRuns.Recorded(File);
        Assert.Equal(GoldenRuns.All.Select(c => c.Name).Order(StringComparer.Ordinal), recorded.Keys.Order(StringComparer.Ordinal));
        string[] changed = [.. GoldenRuns.All
            .Where(c => recorded[c.Name] != outcomes[c.Name])
            .Select(c => $"{c.Name}: recorded {recorded[c.Name]}, now {outcomes[c.Name]}")];
        Assert.True(changed.Length == 0, $"{changed.Length} of {recorded.Count} runs changed (events eventsHash stateHash violations):\n{string.Join('\n', changed)}");
    }

    [Fact]
    public void the_list_covers_every_profile_bug_switch_and_scenario_file_and_each_run_does_something()
    {
        IReadOnlyDictionary<string, GoldenRuns.Outcome> recorded = GoldenRuns.Recorded(File);
        foreach (string arch in GoldenRuns.Profiles) Assert.Contains(recorded.Keys, k => k.StartsWith($"random/{arch}/weak/", StringComparison.Ordinal));
        foreach (string bug in GoldenRuns.BugSwitches) Assert.Contains($"bug/{bug}", recorded.Keys);
        int scenarios = Directory.GetFiles(RepoPaths.Of("config/scenarios"), "*.json", SearchOption.AllDirectories).Length;
        Assert.Equal(2 * scenarios, recorded.Keys.Count(k => k.StartsWith("scenario/", StringComparison.Ordinal)));
        Assert.All(recorded.Values, o => Assert.True(o.Events > 0));
        // Random-workload runs that differ in what they were given differ in what they did (a
        // scenario's timing can be fixed, so its two seeds may agree).
        GoldenRuns.Outcome[] random = [.. recorded.Where(r => !r.Key.StartsWith("scenario/", StringComparison.Ordinal)).Select(r => r.Value)];
        Assert.Equal(random.Length, random.Select(o => (o.EventsHash, o.StateHash)).Distinct().Count());
        // The bug scenario files fail with their own seed, as their expectations say.
        Assert.All(recorded.Where(r => r.Key.StartsWith("scenario/config/scenarios/bugs/", StringComparison.Ordinal) && !r.Key.EndsWith("/seed-101", StringComparison.Ordinal)),
            r => Assert.True(r.Value.Violations > 0, r.Key));
    }
}
