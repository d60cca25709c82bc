using Twin.Kernel;
using Twin.Kernel.Tasks;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;
using Twin.Simulation.Scenarios;
using Twin.Simulation.Shrink;

namespace Twin.Simulation.Tests;

/// <summary>twin shrink: random runs recorded as scenarios, and failing runs shrunk to scenario files that still fail.</summary>
public sealed class ShrinkTests
{
    private static TwinConfig RandomRun(ulong seed, long events, params string[] bugs) => RandomRun("config/default.json", seed, events, bugs);

    private static TwinConfig RandomRun(string configFile, ulong seed, long events, params string[] bugs) =>
        ConfigLoader.Load(RepoPaths.Of(configFile),
            [("seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"), ("run.events", events.ToString(System.Globalization.CultureInfo.InvariantCulture), "test"),
             .. bugs.Select((b, i) => ($"bugs.{i}", b, "test"))]);

    /// <summary>
    /// The first seed whose random run trips a monitor with <paramref name="bug"/> switched on
    /// within its first 100 000 events: a failure early in a run is the shrinker's usual input
    /// (a failure deep in a long run makes each of its trial runs long, not its result different).
    /// </summary>
    internal static TwinConfig FailingRun(string bug, string configFile = "config/default.json", ulong firstSeed = 1, long events = 100_000)
    {
        for (ulong seed = firstSeed; seed < firstSeed + 400; seed++)
        {
            TwinConfig config = RandomRun(configFile, seed, events, bug);
            SimulationResult r = SimulationRunner.Run(config, journal: null, "find", stopAtFirstViolation: true);
            if (r.Violations.Count > 0) return config;
        }
        throw new Xunit.Sdk.XunitException($"no seed in {firstSeed}..{firstSeed + 399} shows {bug}");
    }

    [Fact]
    public void A_recorded_random_run_replays_as_a_scenario_event_for_event()
    {
        TwinConfig config = RandomRun(7, 60_000);
        (ScenarioDraft draft, SimulationResult recorded) = RunRecorder.Record(config);
        Assert.Empty(recorded.Violations);
        Assert.True(draft.Tasks.Count >= 8, $"only {draft.Tasks.Count} tasks recorded");
        Assert.Contains(draft.Tasks, t => t.Forked);
        Assert.Contains(draft.Tasks, t => t.Kthread);

        TwinConfig scripted = config with { Kernel = config.Kernel with { Tasks = draft.Unpinned().Normalize().ToTaskSpecs() } };
        var a = new Lines();
        var b = new Lines();
        SimulationRunner.Run(config, new MemoryJournal(), "random", taps: [a]);
        SimulationResult replayed = SimulationRunner.Run(scripted, new MemoryJournal(), "scripted", taps: [b]);
        int same = a.L.Zip(b.L).TakeWhile(p => p.First == p.Second).Count();
        if (same < Math.Max(a.L.Count, b.L.Count))
        {
            Assert.Fail($"{a.L.Count} vs {b.L.Count} events, {string.Join(",", replayed.Violations.Select(v => v.Message))}; first difference at {same}: {a.L.ElementAtOrDefault(same)} vs {b.L.ElementAtOrDefault(same)}");
        }
        Assert.Equal(recorded.Events, replayed.Events);
        Assert.Equal(recorded.StateHash, replayed.StateHash);
    }

    [Theory]
    [InlineData("B8b")]
    [InlineData("B21")]
    public void A_failing_random_run_shrinks_to_a_small_scenario_file_that_fails_the_same_way(string bug) => ShrinksToASmallFailingFile(bug);

    /// <summary>The first failing random run with <paramref name="bug"/> shrinks to a small scenario file that fails the same way (B4 and B12 run in <see cref="ShrinkLongRunTests"/>, beside these).</summary>
    internal static void ShrinksToASmallFailingFile(string bug)
    {
        TwinConfig failing = FailingRun(bug);
        (ShrinkResult? shrunk, string? reason) = Shrinker.Shrink(failing);
        Assert.True(shrunk is not null, reason);
        // Greedy shrinking stops in a local minimum; these bounds are far below the recorded runs
        // (hundreds to tens of thousands of steps) and above what it reaches today.
        Assert.True(shrunk.Draft.StepCount <= 40 && shrunk.Draft.StepCount * 10 <= shrunk.OriginalSteps,
            $"{bug}: {shrunk.OriginalSteps} steps shrunk only to {shrunk.Draft.StepCount}");
        Assert.True(shrunk.Draft.Tasks.Count <= 16, $"{bug}: {shrunk.Draft.Tasks.Count} tasks left");

        using var dir = new TempFolder();
        string path = Path.Combine(dir.Path, "shrunk.json");
        File.WriteAllText(path, ScenarioWriter.Write(shrunk, "test"));
        ScenarioDefinition parsed = ScenarioParser.ParseFile(path);
        Assert.Equal([shrunk.Violation.Property], parsed.ExpectedViolations);

        SimulationResult rerun = SimulationRunner.Run(ConfigLoader.Load(null, [], path), new MemoryJournal(), "rerun");
        Assert.Contains(rerun.Violations, v => v.Property == shrunk.Violation.Property);
    }

    [Fact]
    public void A_litmus_scenario_is_not_shrunk()
    {
        TwinConfig litmus = ConfigLoader.Load(null, [("omit.0", "membarrier.a", "test")], RepoPaths.Of("config/scenarios/litmus/A.json"));
        (ShrinkResult? shrunk, string? reason) = Shrinker.Shrink(litmus, maxRuns: 10);
        Assert.Null(shrunk);
        Assert.Contains("litmus scenario", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_that_violates_nothing_is_not_shrunk()
    {
        (ShrinkResult? shrunk, string? reason) = Shrinker.Shrink(RandomRun(3, 20_000), maxRuns: 10);
        Assert.Null(shrunk);
        Assert.Equal("the run violates nothing", reason);
    }

    [Fact]
    public void Removing_a_task_removes_what_only_it_started_and_steps_that_point_at_it()
    {
        var draft = new ScenarioDraft(2,
        [
            new DraftTask("t1", "p1", -1, false, [new(new Step(StepKind.Fork), ForkTask: "t2"), new(new Step(StepKind.Spin, Ns: 5))]),
            new DraftTask("t2", "p2", -1, true, [new(new Step(StepKind.Fork), ForkTask: "t3")]),
            new DraftTask("t3", "p3", -1, true, [new(new Step(StepKind.Spin, Ns: 5))]),
            new DraftTask("k4", null, -1, false, [new(new Step(StepKind.UseMm), Process: "p3"), new(new Step(StepKind.UnuseMm))]),
        ]);
        Assert.True(draft.IsValid());

        ScenarioDraft without = draft.WithoutTask("t2");
        Assert.Equal(["t1", "k4"], without.Tasks.Select(t => t.Name));
        Assert.Equal([StepKind.Spin], without.Tasks[0].Steps.Select(s => s.Step.Kind));
        Assert.Equal([StepKind.UnuseMm], without.Tasks[1].Steps.Select(s => s.Step.Kind));
        Assert.True(without.IsValid());

        IReadOnlyList<TaskSpec> specs = draft.ToTaskSpecs();
        Assert.Equal(2, specs[0].Steps[0].Target);
        Assert.Equal(3, specs[3].Steps[0].Target);
        Assert.True(specs[1].ForkedBy);
    }

    [Fact]
    public void A_draft_whose_forked_task_nobody_forks_is_invalid()
    {
        var draft = new ScenarioDraft(1,
        [
            new DraftTask("t1", "p1", -1, false, [new(new Step(StepKind.Spin, Ns: 5))]),
            new DraftTask("t2", "p2", -1, true, [new(new Step(StepKind.Spin, Ns: 5))]),
        ]);
        Assert.False(draft.IsValid());
    }

    private sealed class Lines : Twin.Actors.Persistence.EventTap
    {
        public List<string> L { get; } = [];

        public override void OnEvent<TEvent>(in Twin.Actors.Persistence.EventMeta meta, in TEvent evt) => L.Add($"{meta} {evt}");
    }

    internal sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("twin-shrink-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
