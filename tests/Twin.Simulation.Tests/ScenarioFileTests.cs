using Twin.Actors.Persistence;
using Twin.Kernel.Arch;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Tests;

/// <summary>The scenario files under config/scenarios: the ported selftests and scenarios A–E of kernel-model §4.</summary>
public sealed class ScenarioFileTests
{
    private sealed class Recorder : EventTap
    {
        public List<string> Lines { get; } = [];

        public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt) => Lines.Add(evt.ToString()!);
    }

    private static (SimulationResult Result, List<string> Journal) Run(string file, params (string, string, string)[] overrides)
    {
        TwinConfig config = ConfigLoader.Load(null, overrides, RepoPaths.Of("config/scenarios/" + file));
        var recorder = new Recorder();
        SimulationResult r = SimulationRunner.Run(config, new MemoryJournal(), "s", taps: [recorder]);
        return (r, recorder.Lines);
    }

    /// <summary>Index of the first line starting with <paramref name="prefix"/> (after <paramref name="from"/>), asserting it exists.</summary>
    private static int At(List<string> journal, string prefix, int from = 0)
    {
        int i = journal.FindIndex(from, l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(i >= 0, $"no '{prefix}' after line {from} in\n  {string.Join("\n  ", journal)}");
        return i;
    }

    public static TheoryData<string, string> SelftestsOnEveryProfile()
    {
        var data = new TheoryData<string, string>();
        foreach (string file in new[] { "selftest-single-thread.json", "selftest-multi-thread.json" })
        {
            foreach (ArchProfile arch in ArchProfile.All) data.Add(file, arch.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SelftestsOnEveryProfile))]
    public void the_membarrier_selftests_return_what_the_kernel_returns(string file, string arch)
    {
        var (result, _) = Run(file, ("arch", arch, "test"));
        Assert.Empty(result.Violations);
        TwinConfig config = ConfigLoader.Load(null, [], RepoPaths.Of("config/scenarios/" + file));
        Assert.Equal(config.Expectations.Count, result.Syscalls.Count);
        Assert.All(result.Syscalls, c => Assert.True(c.Returned));
    }

    [Fact]
    public void a_wrong_expectation_is_reported_as_a_violation()
    {
        // With nohz_full, QUERY leaves GLOBAL out and GLOBAL fails: the file's expectations no longer hold.
        var (result, _) = Run("selftest-single-thread.json", ("nohzFull", "true", "test"));
        Assert.Contains(result.Violations, v => v.Property == "EXPECT" && v.Message.Contains("QUERY") && v.Message.Contains("1022"));
        Assert.Contains(result.Violations, v => v.Property == "EXPECT" && v.Message.Contains("GLOBAL") && v.Message.Contains("EINVAL"));
    }

    [Theory]
    [InlineData("scenario-a.json")]
    [InlineData("scenario-b.json")]
    public void scenarios_A_and_B_run_ipi_mb_on_the_other_cpu_between_the_entry_and_exit_barriers(string file)
    {
        var (result, j) = Run(file);
        Assert.Empty(result.Violations);
        int call = At(j, "MembarrierEntered { Cpu = 0, Task = 1, Mm = 1, Cmd = 8");
        int a = At(j, "FullBarrier { Cpu = 0, Reason = MembarrierEntry }", call);
        int b = At(j, "MembarrierSampled { Cpu = 0, Targets = {0,1} }", a);
        int ipi = At(j, "IpiHandled { Cpu = 1,", b);
        int c = At(j, "FullBarrier { Cpu = 0, Reason = MembarrierExit }", ipi);
        Assert.Contains("Kind = Mb", j[ipi]);
        Assert.True(c > ipi);
    }

    [Fact]
    public void scenario_C_pairs_the_schedulers_barriers_with_membarriers_around_a_lazy_kthread()
    {
        var (result, j) = Run("scenario-c.json");
        Assert.Empty(result.Violations);
        int d = At(j, "FullBarrier { Cpu = 1, Reason = SchedSpinlock }", At(j, "KernelEntered { Cpu = 1, Task = 2, Reason = Syscall }"));
        int toKthread = At(j, "SchedSwitched { Cpu = 1, Prev = 2, Next = 3", d);
        int a = At(j, "FullBarrier { Cpu = 0, Reason = MembarrierEntry }", toKthread);
        int b = At(j, "MembarrierSampled { Cpu = 0, Targets = {0} }", a);
        int c = At(j, "FullBarrier { Cpu = 0, Reason = MembarrierExit }", b);
        int back = At(j, "SchedSwitched { Cpu = 1, Prev = 3, Next = 2", c);
        int e = At(j, "FullBarrier { Cpu = 1, Reason = MmdropLazyTlb }", back);
        int user = At(j, "ReturnedToUser { Cpu = 1, Task = 2", e);
        Assert.True(d < b && b < e && e < user);
        Assert.DoesNotContain(j, l => l.StartsWith("IpiHandled { Cpu = 1", StringComparison.Ordinal) && l.Contains("Kind = Mb"));
    }

    [Fact]
    public void scenario_D_orders_exit_mms_barrier_before_current_mm_is_cleared_and_sampled()
    {
        var (result, j) = Run("scenario-d.json");
        Assert.Empty(result.Violations);
        int d = At(j, "FullBarrier { Cpu = 1, Reason = ExitMm }");
        int e = At(j, "TaskMmChanged { Task = 2, Mm = 0, Reason = ExitMm }", d);
        int b = At(j, "MembarrierSampled { Cpu = 0, Targets = {0} }", e);
        At(j, "FullBarrier { Cpu = 0, Reason = MembarrierExit }", b);
    }

    [Fact]
    public void scenario_E_brackets_the_sample_with_kthread_unuse_mm_and_kthread_use_mm_barriers()
    {
        var (result, j) = Run("scenario-e.json");
        Assert.Empty(result.Violations);
        int call = At(j, "MembarrierEntered { Cpu = 0, Task = 1, Mm = 1, Cmd = 8");
        int d = j.FindLastIndex(call, l => l == "FullBarrier { Cpu = 1, Reason = KthreadUnuseMm }");
        int e = j.FindLastIndex(call, l => l.StartsWith("TaskMmChanged { Task = 3, Mm = 0, Reason = KthreadUnuseMm", StringComparison.Ordinal));
        Assert.True(d >= 0 && d < e, "unuse_mm's barrier (d) precedes mm = NULL (e), both before the call");
        int b = At(j, "MembarrierSampled { Cpu = 0, Targets = {0} }", call);
        int c = At(j, "FullBarrier { Cpu = 0, Reason = MembarrierExit }", b);
        int f = At(j, "TaskMmChanged { Task = 3, Mm = 1, Reason = KthreadUseMm }", c);
        At(j, "FullBarrier { Cpu = 1, Reason = MmdropLazyTlb }", f);
    }

    [Fact]
    public void a_scenario_run_is_reproduced_by_its_seed()
    {
        var (r1, j1) = Run("scenario-c.json");
        var (r2, j2) = Run("scenario-c.json");
        Assert.Equal(j1, j2);
        Assert.Equal(r1.StateHash, r2.StateHash);
    }
}

/// <summary>config/scenarios/bugs: each bug file violates its expected properties; without its bug it is clean.</summary>
public sealed class BugScenarioFileTests
{
    public static TheoryData<string> Files() => ScenarioFolder.Files("config/scenarios/bugs");

    [Theory]
    [MemberData(nameof(Files))]
    public void the_bug_scenario_violates_what_it_says_and_the_fixed_kernel_does_not(string file)
    {
        string path = RepoPaths.Of("config/scenarios/bugs/" + file);
        Twin.Simulation.Scenarios.ScenarioDefinition scenario = Twin.Simulation.Scenarios.ScenarioParser.ParseFile(path);
        Assert.NotEmpty(scenario.ExpectedViolations);
        TwinConfig config = ConfigLoader.Load(null, [], path);
        Assert.NotEqual(Twin.Kernel.BugSet.None, config.Kernel.Bugs);
        SimulationResult buggy = SimulationRunner.Run(config, new MemoryJournal(), "bug");
        foreach (string property in scenario.ExpectedViolations) Assert.Contains(buggy.Violations, v => v.Property == property);
        SimulationResult fixedKernel = SimulationRunner.Run(config with { Kernel = config.Kernel with { Bugs = Twin.Kernel.BugSet.None } }, new MemoryJournal(), "fixed");
        Assert.True(fixedKernel.Violations.Count == 0, string.Join("\n", fixedKernel.Violations.Select(v => $"{v.Property}: {v.Message}")));
    }
}

/// <summary>config/scenarios/faults: each file's faults show in the journal and break what it expects; without them it is clean.</summary>
public sealed class FaultScenarioFileTests
{
    public static TheoryData<string> Files() => ScenarioFolder.Files("config/scenarios/faults");

    [Theory]
    [MemberData(nameof(Files))]
    public void the_fault_scenario_journals_its_faults_and_breaks_only_what_it_expects(string file)
    {
        string path = RepoPaths.Of("config/scenarios/faults/" + file);
        Twin.Simulation.Scenarios.ScenarioDefinition scenario = Twin.Simulation.Scenarios.ScenarioParser.ParseFile(path);
        TwinConfig config = ConfigLoader.Load(null, [], path);
        Assert.NotEmpty(config.Kernel.Faults);
        var tap = new EventRecorder();
        SimulationResult faulty = SimulationRunner.Run(config, new MemoryJournal(), "faulty", taps: [tap]);
        Assert.Contains(tap.Of<Twin.Kernel.Events.FaultInjected>(), f => config.Kernel.Faults.Any(r => r.Kind == f.Kind));
        Assert.Equal(scenario.ExpectedViolations.Order(), faulty.Violations.Select(v => v.Property).Distinct().Order());
        SimulationResult clean = SimulationRunner.Run(config with { Kernel = config.Kernel with { Faults = [] } }, new MemoryJournal(), "clean");
        Assert.Empty(clean.Violations);
    }
}

/// <summary>The scenario files of one folder of the repository, by name, for theories over every file.</summary>
internal static class ScenarioFolder
{
    public static TheoryData<string> Files(string folder)
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(RepoPaths.Of(folder), "*.json").Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(f));
        return data;
    }
}
