using Twin.Kernel;
using Twin.Kernel.Arch;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Tasks;
using static Twin.Checking.Tests.MonitorMachines;
using static Twin.Kernel.Tests.Machines;

namespace Twin.Checking.Tests;

/// <summary>
/// Each historical bug, put back on a small machine, is reported by the property that states the
/// guarantee it broke; the same machine without the bug is clean. These are the machines of the
/// bug scenario files under config/scenarios/bugs.
/// </summary>
public sealed class BugDetectionTests
{
    public static TheoryData<string, string> Bugs() => new()
    {
        { "B2", "P-PE" }, { "B3", "P-PE" }, { "B4", "P-SC" }, { "B5", "P-SC" }, { "B6", "P-SC" },
        { "B8", "LAZY-1" }, { "B8b", "LAZY-1" }, { "B11", "P-PE" }, { "B12", "TLB-1" }, { "B21", "P-REG" },
    };

    private static KernelConfig Machine(string bug) => bug switch
    {
        // exit_mm of a registered process's thread, with another thread still using the mm.
        "B2" => With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), Spin(40000)),
            User("b", "p", 1, Sleep(20000), Spin(10000), Do(StepKind.Exit))),
        // an io_uring-style kthread using and unusing a registered mm.
        "B3" => With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), Spin(50000)),
            Kthread("k", 1, Spin(20000), Do(StepKind.UseMm, target: 1), Spin(5000), Do(StepKind.UnuseMm), Spin(1000))),
        // SYNC_CORE interrupts b in user mode; the IRQ exit reschedules to c, which leaves its syscall by SYSRET.
        "B4" or "B5" => With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(30000), Do(StepKind.WriteCode), Mb(MembarrierCmd.PrivateExpeditedSyncCore)),
            User("b", "p", 1, Spin(60000)),
            User("c", "p", 1, Sleep(10000), Spin(10000))) with { Timing = Fixed with { ReschedOnIrqExit = 1 } },
        // the caller's own CPU after SYNC_CORE.
        "B6" => With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(20000), Do(StepKind.WriteCode), Mb(MembarrierCmd.PrivateExpeditedSyncCore), Spin(1000)),
            User("b", "p", 1, Spin(60000))),
        // kthread → thread of the borrowed mm, tlb_gen current: no CR3 write.
        "B8" => With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(20000), Do(StepKind.WriteCode), Mb(MembarrierCmd.PrivateExpeditedSyncCore)),
            User("b", "p", 1, Sleep(15000), Spin(1000)),
            Kthread("k", 1, Spin(30000))),
        // SYNC_CORE while k runs lazily on the mm (no IPI); then kthread_use_mm of the borrowed mm
        // (no CR3 write), and the kthread, still using it, switches to b.
        "B8b" => With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(10000), Do(StepKind.WriteCode), Mb(MembarrierCmd.PrivateExpeditedSyncCore), Spin(60000)),
            User("b", "p", 1, Sleep(50000), Spin(1000)),
            Kthread("k", 1, Spin(20000), Do(StepKind.UseMm, target: 1), Spin(40000))),
        // riscv: user → user switch into a registered mm.
        "B11" => With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), Spin(50000)),
            User("b", "p", 1, Sleep(20000), Spin(1000)),
            User("q", "q", 1, Spin(1000), Sleep(10000), Spin(40000))) with { Arch = ArchProfile.RiscV },
        // CPU 1's switching window [1600, 1800) ns meets CPU 0's mprotect at 1700 ns.
        "B12" => With(2,
            User("a", "p", 0, Spin(900), Do(StepKind.Mprotect), Spin(20000)),
            Kthread("k", 1, Spin(1000)),
            User("b", "p", 1, Spin(20000))) with { Timing = Fixed with { StepNsMin = 200, StepNsMax = 200 } },
        // k clears CPU 1's copy (kthread_unuse_mm) and switches lazily to b; a's second REGISTER returns at once.
        "B21" => With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), Spin(60000), Mb(MembarrierCmd.RegisterPrivateExpedited)),
            User("b", "p", 1, Sleep(30000), Spin(60000)),
            Kthread("k", 1, Spin(5000), Do(StepKind.UseMm, target: 1), Spin(5000), Do(StepKind.UnuseMm), Spin(1000))),
        _ => throw new ArgumentOutOfRangeException(nameof(bug)),
    };

    [Theory]
    [MemberData(nameof(Bugs))]
    public void the_bug_is_reported_by_its_property_and_the_fixed_kernel_is_clean(string bug, string property)
    {
        Assert.True(Twin.Kernel.Bugs.TryParse(bug, out BugSet b));
        KernelConfig machine = Machine(bug);
        IReadOnlyList<Violation> fixedKernel = Check(machine);
        Assert.True(fixedKernel.Count == 0, string.Join("\n", fixedKernel.Select(v => $"{v.Property}: {v.Message}")));
        IReadOnlyList<Violation> buggy = Check(machine with { Bugs = b });
        Assert.Contains(buggy, v => v.Property == property);
        Violation first = buggy.First(v => v.Property == property);
        Assert.NotEqual("", first.Guarantee);
        Assert.True(first.WindowStart <= first.EventIndex);
    }
}
