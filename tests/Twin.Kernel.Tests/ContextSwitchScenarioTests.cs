using Twin.Kernel;
using Twin.Kernel.Events;

namespace Twin.Kernel.Tests;

/// <summary>
/// The four context_switch cases of kernel-model §2.1 on a one-CPU machine whose every slice is
/// exactly 1 µs and whose tasks never sleep, so the schedule is fixed and the journal can be
/// written down event for event.
/// </summary>
public sealed class ContextSwitchScenarioTests
{
    private static KernelConfig OneCpu(int processes, int threads, int kthreads) => new()
    {
        Cpus = 1,
        Workload = new WorkloadConfig
        {
            Processes = processes,
            ThreadsPerProcess = threads,
            Kthreads = kthreads,
            RunNsMin = 1000,
            RunNsMax = 1000,
            SleepProbability = 0,
        },
    };

    [Fact]
    public void user_to_kernel_borrows_the_mm_lazily_and_kernel_to_user_unlazies_without_a_CR3_write()
    {
        // Task 1 is the only thread of process 1 (mm 1); tasks 2 and 3 are kthreads.
        var (log, _, _) = EventLog.Run(OneCpu(processes: 1, threads: 1, kthreads: 2), untilNs: 3000);
        Assert.Equal(
        [
            "0 MmCreated { Mm = 1, Tgid = 1 }",
            "0 CpuBooted { Cpu = 0 }",
            "0 TaskCreated { Task = 1, Tgid = 1, Mm = 1, Kthread = False }",
            "0 TaskCreated { Task = 2, Tgid = 2, Mm = 0, Kthread = True }",
            "0 TaskCreated { Task = 3, Tgid = 3, Mm = 0, Kthread = True }",
            "0 TaskEnqueued { Cpu = 0, Task = 1 }",
            // idle → user, different mm: cpumask set, then a CR3 write.
            "0 SchedSwitched { Cpu = 0, Prev = -1, Next = 1, PrevState = Runnable }",
            "0 MmCpumaskSet { Mm = 1, Cpu = 0 }",
            "0 MmSwitched { Cpu = 0, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False }",
            "0 TaskEnqueued { Cpu = 0, Task = 2 }",
            "0 TaskEnqueued { Cpu = 0, Task = 3 }",
            // user → kernel: enter_lazy_tlb(mm 1); the kthread borrows it.
            "1000 SchedSwitched { Cpu = 0, Prev = 1, Next = 2, PrevState = Runnable }",
            "1000 LazyTlbEntered { Cpu = 0, Mm = 1 }",
            // kernel → kernel: the next kthread takes over the borrowed mm, still lazy.
            "2000 SchedSwitched { Cpu = 0, Prev = 2, Next = 3, PrevState = Runnable }",
            "2000 LazyTlbEntered { Cpu = 0, Mm = 1 }",
            // kernel → user of the borrowed mm: unlazy; tlb_gen is current, so no CR3 write.
            "3000 SchedSwitched { Cpu = 0, Prev = 3, Next = 1, PrevState = Runnable }",
            "3000 MmSwitched { Cpu = 0, Prev = 1, Next = 1, Cr3Written = False, WasLazy = True }",
        ], log.Lines);
    }

    [Fact]
    public void user_to_user_of_another_mm_writes_CR3_and_of_the_same_mm_changes_nothing()
    {
        // Process 1: tasks 1, 2 (mm 1). Process 2: tasks 3, 4 (mm 2).
        var (log, kernel, _) = EventLog.Run(OneCpu(processes: 2, threads: 2, kthreads: 0), untilNs: 3000);
        string[] switches = [.. log.Lines.SkipWhile(l => !l.Contains("SchedSwitched"))];
        Assert.Equal(
        [
            "0 SchedSwitched { Cpu = 0, Prev = -1, Next = 1, PrevState = Runnable }",
            "0 MmCpumaskSet { Mm = 1, Cpu = 0 }",
            "0 MmSwitched { Cpu = 0, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False }",
            "0 TaskEnqueued { Cpu = 0, Task = 2 }",
            "0 TaskEnqueued { Cpu = 0, Task = 3 }",
            "0 TaskEnqueued { Cpu = 0, Task = 4 }",
            // thread → thread of one mm: switch_mm_irqs_off returns at once; nothing to journal.
            "1000 SchedSwitched { Cpu = 0, Prev = 1, Next = 2, PrevState = Runnable }",
            // another process: cpumask set and CR3 written; mm 1 keeps this CPU in its mask (x86 clears lazily).
            "2000 SchedSwitched { Cpu = 0, Prev = 2, Next = 3, PrevState = Runnable }",
            "2000 MmCpumaskSet { Mm = 2, Cpu = 0 }",
            "2000 MmSwitched { Cpu = 0, Prev = 1, Next = 2, Cr3Written = True, WasLazy = False }",
            "3000 SchedSwitched { Cpu = 0, Prev = 3, Next = 4, PrevState = Runnable }",
        ], switches);
        Assert.True(kernel.Mm(1).State.CpumaskTest(0));
        Assert.True(kernel.Mm(2).State.CpumaskTest(0));
    }

    [Fact]
    public void a_CPU_with_no_runnable_task_runs_its_idle_task_lazily()
    {
        var config = OneCpu(processes: 1, threads: 1, kthreads: 0) with
        {
            Workload = OneCpu(1, 1, 0).Workload with { SleepProbability = 1, SleepNsMin = 500, SleepNsMax = 500 },
        };
        var (log, _, _) = EventLog.Run(config, untilNs: 1500);
        Assert.Equal(
        [
            "1000 SchedSwitched { Cpu = 0, Prev = 1, Next = -1, PrevState = Sleeping }",
            "1000 LazyTlbEntered { Cpu = 0, Mm = 1 }",
            "1500 TaskEnqueued { Cpu = 0, Task = 1 }",
            "1500 SchedSwitched { Cpu = 0, Prev = -1, Next = 1, PrevState = Runnable }",
            "1500 MmSwitched { Cpu = 0, Prev = 1, Next = 1, Cr3Written = False, WasLazy = True }",
        ], log.Lines.SkipWhile(l => !l.StartsWith("1000", StringComparison.Ordinal)));
    }

    [Fact]
    public void a_busy_machine_shows_every_switch_kind_and_keeps_mm_cpumask_a_superset_of_loaded_mm()
    {
        var config = new KernelConfig { Cpus = 4 };
        var (log, kernel, _) = EventLog.Run(config, untilNs: 2_000_000_000, seed: 9);
        var mmSwitches = log.Events.OfType<MmSwitched>().ToList();
        Assert.Contains(mmSwitches, e => e.Cr3Written && !e.WasLazy);
        Assert.Contains(mmSwitches, e => e.Cr3Written && e.WasLazy);
        Assert.Contains(mmSwitches, e => !e.Cr3Written && e.WasLazy);
        Assert.Contains(log.Events.OfType<LazyTlbEntered>(), e => e.Mm != KernelIds.InitMm);
        Assert.True(log.Events.OfType<SchedSwitched>().Count() > 1000);
        foreach (var cpu in kernel.Cpus)
        {
            if (cpu.State.LoadedMm != KernelIds.InitMm) Assert.True(kernel.Mm(cpu.State.LoadedMm).State.CpumaskTest(cpu.Id));
        }
    }
}
