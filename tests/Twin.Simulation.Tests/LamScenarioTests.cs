using Twin.Kernel.Events;
using Twin.Kernel.Lam;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Tasks;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Tests;

/// <summary>x86 LAM (kernel-model §7.1): the selftest's inheritance cases, the error order, and the soak workload.</summary>
public sealed class LamScenarioTests
{
    private static readonly string Inheritance = RepoPaths.Of("config/scenarios/lam/selftest-inheritance.json");

    private static SyscallRecord Call(SimulationResult r, string task, int step) =>
        r.Syscalls.Single(c => c.Task == task && c.StepIndex == step);

    [Fact]
    public void The_selftest_inheritance_cases_return_what_the_kernel_returns()
    {
        var tap = new EventRecorder();
        SimulationResult r = SimulationRunner.Run(ConfigLoader.Load(null, [], Inheritance), new MemoryJournal(), "lam", taps: [tap]);
        // Every step carries its expected result; a mismatch would be an EXPECT violation.
        Assert.Empty(r.Violations);
        Assert.Equal(14, r.Syscalls.Count(c => c.Kind == StepKind.ArchPrctl && c.Returned));
        Assert.Equal(-Errno.EBUSY, Call(r, "child_enable_thread", 0).Ret);
        Assert.Equal(ArchPrctlOption.UntagMask(6), Call(r, "thread_child", 0).Ret);
        // Locked at each thread creation (and on each successful enable); the bits reached every CPU running a LAM thread.
        Assert.True(tap.Of<MmLamLocked>().Count() >= 4);
        Assert.Contains(tap.Of<CpuLamLoaded>(), l => l.Cr3Bits == 6 && l.Reason == LamLoadReason.SwitchMm);
    }

    [Fact]
    public void Without_the_cpu_feature_enabling_is_ENODEV_and_no_LAM_state_is_journaled()
    {
        var tap = new EventRecorder();
        TwinConfig config = ConfigLoader.Load(null, [("kernel.lam", "false", "test")], Inheritance) with { Expectations = [] };
        SimulationResult r = SimulationRunner.Run(config, new MemoryJournal(), "nolam", taps: [tap]);
        Assert.Equal(-Errno.ENODEV, Call(r, "fork_parent", 0).Ret);
        Assert.Equal(0, Call(r, "errors", 0).Ret); // ARCH_GET_MAX_TAG_BITS
        Assert.Empty(tap.Of<MmLamLocked>());
        Assert.Empty(tap.Of<CpuLamLoaded>());
    }

    [Fact]
    public void Elsewhere_than_x86_the_options_do_not_exist()
    {
        TwinConfig config = ConfigLoader.Load(null, [("arch", "arm64", "test")], Inheritance) with { Expectations = [] };
        SimulationResult r = SimulationRunner.Run(config, new MemoryJournal(), "arm");
        Assert.All(r.Syscalls.Where(c => c.Kind == StepKind.ArchPrctl), c => Assert.Equal(-Errno.ENOSYS, c.Ret));
    }

    [Fact]
    public void The_LAM_soak_workload_enables_LAM_and_races_it_with_other_cpus_and_stays_clean()
    {
        TwinConfig config = ConfigLoader.Load(RepoPaths.Of("config/lam.json"), [("run.events", "300000", "test")]);
        int enabled = 0, ipis = 0;
        for (ulong seed = 1; seed <= 10; seed++)
        {
            var tap = new EventRecorder();
            SimulationResult r = SimulationRunner.Run(config with { Seed = seed }, new MemoryJournal(), $"lam-{seed}", taps: [tap]);
            Assert.True(r.Violations.Count == 0, string.Join("\n", r.Violations.Select(v => $"seed {seed}: {v.Property}: {v.Message}")));
            enabled += tap.Of<MmLamEnabled>().Count();
            ipis += tap.Of<CpuLamLoaded>().Count(l => l.Reason == LamLoadReason.EnableLamIpi);
        }
        Assert.True(enabled > 10, $"{enabled} enables");
        Assert.True(ipis > 0, "no enable_lam_func IPI ever updated another CPU");
    }

    [Fact]
    public void A_LAM_run_replays_from_its_journal_and_reexecutes_from_its_recorded_config()
    {
        // Every LAM event kind, the EnableLam IPI included, decodes and applies again to the same state.
        var journal = new MemoryJournal();
        TwinConfig config = ConfigLoader.Load(RepoPaths.Of("config/lam.json"), [("run.events", "200000", "test"), ("seed", "3", "test")]);
        var tap = new EventRecorder();
        SimulationResult r = SimulationRunner.Run(config, journal, "lam", taps: [tap]);
        Assert.Contains(tap.Of<IpiHandled>(), h => h.Kind == IpiKind.EnableLam);
        Assert.NotEmpty(tap.Of<UntaggedAddr>());
        Persistence.RunInfo run = journal.FindRun("lam")!;
        Assert.Equal(r.StateHash, Replay.RunReplay.Replay(journal, run).StateHash);
        TwinConfig again = ConfigLoader.FromRunJson(run.ConfigJson, "test");
        Assert.True(again.Kernel.Lam);
        Assert.Equal(r.StateHash, SimulationRunner.Run(again, new MemoryJournal(), "again").StateHash);
    }
}
