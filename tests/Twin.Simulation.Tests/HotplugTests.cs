using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Persistence.Memory;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Tests;

/// <summary>CPU hotplug faults: a CPU leaves the online mask at a scheduling point, its tasks move, cross-calls skip it, it boots again.</summary>
public sealed class HotplugTests
{
    [Fact]
    public void A_CPU_taken_offline_during_membarrier_moves_its_task_gets_no_IPI_and_boots_again()
    {
        var tap = new EventRecorder();
        TwinConfig config = ConfigLoader.Load(null, [], RepoPaths.Of("config/scenarios/faults/hotplug.json"));
        SimulationResult r = SimulationRunner.Run(config, new MemoryJournal(), "hp", taps: [tap]);
        Assert.Empty(r.Violations);
        Assert.All(r.Syscalls, c => Assert.Equal(0, c.Ret));
        List<(long Index, long TimeNs, object Event)> events = tap.Events;
        int down = events.FindIndex(e => e.Event is CpuHotplugged { Cpu: 2, Online: false });
        int up = events.FindIndex(e => e.Event is CpuHotplugged { Cpu: 2, Online: true });
        Assert.True(down > 0 && up > down, $"offline at {down}, online at {up}");
        // The request came when CPU 0 entered membarrier, and took effect at CPU 2's next scheduling point.
        int call = events.FindIndex(e => e.Event is MembarrierEntered { Cpu: 0 });
        int request = events.FindIndex(e => e.Event is FaultInjected { Kind: FaultKind.Hotplug, Cpu: 2 });
        Assert.True(call < request && request < down);
        Assert.IsType<SchedSwitched>(events.Take(down).Last(e => e.Event is SchedSwitched { Cpu: 2 }).Event);
        var offline = events.Skip(down).Take(up - down).Select(e => e.Event).ToList();
        // No cross-call to the offline CPU, which runs nothing; the pinned thread (task 3) was
        // migrated at once (select_fallback_rq breaks its affinity) and runs on another CPU later.
        Assert.DoesNotContain(offline, e => e is IpiSent { To: 2 });
        Assert.DoesNotContain(offline, e => e is SchedSwitched { Cpu: 2 });
        // migrate_tasks() on CPU 2's runqueue: its one queued task goes, next, to an online CPU.
        Assert.Equal(new RqTasksMigrated(2, 1), events[down + 1].Event);
        Assert.True(events[down + 2].Event is TaskEnqueued { Task: 3 } q && q.Cpu != 2, $"{events[down + 2].Event}");
        Assert.Contains(events.Skip(down).Select(e => e.Event), e => e is SchedSwitched { Next: 3 } s && s.Cpu != 2);
        Assert.Equal(new CoreSerialized(2, CoreSerializeReason.CpuBoot), events[up + 1].Event);
        // The dying CPU left every user mm: idle_task_exit() switched it to init_mm.
        Assert.Contains(events.Take(down).Select(e => e.Event), e => e is MmSwitched { Cpu: 2, Next: Twin.Kernel.KernelIds.InitMm });
    }

    [Fact]
    public void Soak_runs_with_hotplug_faults_stay_clean_and_replay()
    {
        var journal = new MemoryJournal();
        TwinConfig config = ConfigLoader.Load(RepoPaths.Of("config/textpoke.json"),
            [("run.events", "200000", "test"), ("seed", "3", "test"), ("isolation.cpus", "3", "test"), ("isolation.defer", "true", "test"),
             ("faults.0", "hotplug:on=shootdown,p=0.05,downNs=20000..400000", "test"), ("faults.1", "hotplug:cpu=3,on=membarrier,p=0.05", "test")]);
        var tap = new EventRecorder();
        SimulationResult r = SimulationRunner.Run(config, journal, "hp", taps: [tap]);
        Assert.Empty(r.Violations);
        Assert.True(tap.Of<CpuHotplugged>().Count(h => !h.Online) >= 5);
        Persistence.RunInfo run = journal.FindRun("hp")!;
        Assert.Equal(r.StateHash, Replay.RunReplay.Replay(journal, run).StateHash);
        Assert.Equal(r.StateHash, SimulationRunner.Run(ConfigLoader.FromRunJson(run.ConfigJson, "test"), new MemoryJournal(), "again").StateHash);
    }

    [Fact]
    public void The_last_online_CPU_never_goes_down_however_often_hotplug_fires()
    {
        // Two CPUs, each taken down at almost every membarrier call and shootdown of the other.
        TwinConfig config = ConfigLoader.Load(null,
            [("cpus", "2", "test"), ("run.events", "100000", "test"), ("seed", "13", "test"),
             ("faults.0", "hotplug:on=membarrier,p=0.9,downNs=20000..400000", "test"), ("faults.1", "hotplug:on=shootdown,p=0.9", "test")]);
        var tap = new EventRecorder();
        SimulationResult r = SimulationRunner.Run(config, new MemoryJournal(), "hp2", taps: [tap]);
        Assert.Empty(r.Violations);
        int online = 2, downs = 0;
        foreach (CpuHotplugged h in tap.Of<CpuHotplugged>())
        {
            online += h.Online ? 1 : -1;
            downs += h.Online ? 0 : 1;
            Assert.True(online >= 1, "every CPU went offline");
        }
        Assert.True(downs >= 10, $"{downs} offlines");
    }

    [Theory]
    [InlineData("hotplug:on=exit", "on = 'exit' is not a trigger (membarrier, shootdown)")]
    [InlineData("hotplug:on=membarrier,atNs=5", "give atNs or on, not both")]
    [InlineData("hotplug:cpu=1,downNs=-4", "downNs")]
    public void Bad_hotplug_specs_are_refused(string spec, string message)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, [("faults.0", spec, "--fault")]));
        Assert.Contains(message, e.Message);
    }
}
