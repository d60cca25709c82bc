using Twin.Kernel.Arch;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Tasks;
using static Twin.Kernel.Tests.Machines;

namespace Twin.Kernel.Tests;

/// <summary>Kernel-model §2.5, §3 and §2.6 rules, each checked on a small machine's journal.</summary>
public sealed class KernelRulesTests
{
    private static List<string> Run(KernelConfig config, string? stream = null) => EventLog.Run(config).Log.Lines(stream: stream);

    [Fact]
    public void exit_mm_orders_a_barrier_before_clearing_current_mm_and_the_runqueue_state()
    {
        KernelConfig config = With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), Spin(40000)),
            User("b", "p", 1, Spin(30000), Do(StepKind.Exit)));
        Subsequence.AssertIn(
        [
            "KernelEntered { Cpu = 1, Task = 2, Reason = Syscall }",
            "FullBarrier { Cpu = 1, Reason = ExitMm }",
            "TaskMmChanged { Task = 2, Mm = 0, Reason = ExitMm }",
            "RqMembarrierStateSet { Cpu = 1, State = 0, Reason = UpdateCurrentMm }",
            "LazyTlbEntered { Cpu = 1, Mm = 1 }",
            "MmUsersChanged { Mm = 1, Users = 1 }",
            "TaskExited { Task = 2 }",
            "SchedSwitched { Cpu = 1, Prev = 2, Next = -2, PrevState = Sleeping, PrevMm = -1 }",
        ], Run(config));
        List<string> buggy = Run(config with { Bugs = BugSet.B2 });
        Assert.DoesNotContain("FullBarrier { Cpu = 1, Reason = ExitMm }", buggy);
        Assert.DoesNotContain(buggy, l => l.StartsWith("RqMembarrierStateSet { Cpu = 1, State = 0, Reason = UpdateCurrentMm", StringComparison.Ordinal));
        Assert.Contains("TaskExited { Task = 2 }", buggy);
    }

    [Fact]
    public void kthread_use_mm_and_unuse_mm_carry_scenario_E_barriers_and_runqueue_updates()
    {
        KernelConfig config = With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), Spin(50000)),
            Kthread("k", 1, Spin(20000), Do(StepKind.UseMm, target: 1), Spin(5000), Do(StepKind.UnuseMm), Spin(1000)));
        Subsequence.AssertIn(
        [
            "TaskMmChanged { Task = 2, Mm = 1, Reason = KthreadUseMm }",
            "RqMembarrierStateSet { Cpu = 1, State = 3, Reason = UpdateCurrentMm }",
            "MmSwitchBegan { Cpu = 1, Next = 1, NextTlbGen = 1 }",
            "MmSwitched { Cpu = 1, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "FullBarrier { Cpu = 1, Reason = MmdropLazyTlb }",
            "FullBarrier { Cpu = 1, Reason = KthreadUnuseMm }",
            "TaskMmChanged { Task = 2, Mm = 0, Reason = KthreadUnuseMm }",
            "RqMembarrierStateSet { Cpu = 1, State = 0, Reason = UpdateCurrentMm }",
            "LazyTlbEntered { Cpu = 1, Mm = 1 }",
        ], Run(config));
        List<string> buggy = Run(config with { Bugs = BugSet.B3 });
        Assert.DoesNotContain("FullBarrier { Cpu = 1, Reason = KthreadUnuseMm }", buggy);
        Assert.DoesNotContain("FullBarrier { Cpu = 1, Reason = MmdropLazyTlb }", buggy);
        Assert.DoesNotContain(buggy, l => l.Contains("Reason = UpdateCurrentMm", StringComparison.Ordinal));
    }

    [Fact]
    public void a_kthread_using_a_process_mm_is_sampled_by_private_expedited_and_gets_the_ipi()
    {
        KernelConfig config = With(3,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), Spin(30000), Mb(MembarrierCmd.PrivateExpedited)),
            User("b", "p", 2, Sleep(100000)),
            Kthread("k", 1, Spin(10000), Do(StepKind.UseMm, target: 1), Spin(50000)));
        List<string> log = Run(config);
        Assert.Contains("MembarrierSampled { Cpu = 0, Targets = {0,1} }", log);
        Assert.Contains("IpiHandled { Cpu = 1, Ipi = 2000, Kind = Mb, From = 0 }", log);
    }

    [Fact]
    public void exec_clears_membarrier_state_after_a_barrier_and_switches_to_the_fresh_mm()
    {
        KernelConfig config = With(1, User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), Do(StepKind.Exec), Spin(1000)));
        Subsequence.AssertIn(
        [
            "MembarrierStateChanged { Mm = 1, State = 3 }",
            "MmCreated { Mm = 2, Tgid = 1, MembarrierState = 0 }",
            "FullBarrier { Cpu = 0, Reason = ExecMmap }",
            "MembarrierStateChanged { Mm = 2, State = 0 }",
            "RqMembarrierStateSet { Cpu = 0, State = 0, Reason = ExecMmap }",
            "TaskMmChanged { Task = 1, Mm = 2, Reason = Exec }",
            "MmSwitched { Cpu = 0, Prev = 1, Next = 2, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "MmUsersChanged { Mm = 1, Users = 0 }",
        ], Run(config));
    }

    [Fact]
    public void fork_copies_the_parents_membarrier_state_into_the_childs_new_mm()
    {
        KernelConfig config = With(1,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), new Step(StepKind.Fork, Target: 2), Spin(1000)),
            new TaskSpec("c", "child", -1, [Spin(1000)], ForkedBy: true));
        List<string> log = Run(config);
        Assert.Contains("MmCreated { Mm = 2, Tgid = 2, MembarrierState = 3 }", log);
        Assert.Contains("TaskCreated { Task = 2, Tgid = 2, Mm = 2, Kthread = False }", log);
    }

    [Fact]
    public void global_expedited_ipis_other_cpus_whose_runqueue_has_the_bit_and_a_user_mm()
    {
        KernelConfig config = With(4,
            User("a", "p", 0, Spin(30000), Mb(MembarrierCmd.GlobalExpedited)),
            User("r", "q", 1, Mb(MembarrierCmd.RegisterGlobalExpedited), Spin(60000)),
            User("s", "q", 2, Sleep(1000), Spin(60000)),
            User("u", "u", 3, Spin(60000)));
        List<string> log = Run(config);
        // q registered (on CPU 1, with s asleep... s then runs on CPU 2 and picks the bits up in membarrier_switch_mm).
        Assert.Contains("MembarrierSampled { Cpu = 0, Targets = {1,2} }", log);
        Assert.DoesNotContain(log, l => l.StartsWith("IpiHandled { Cpu = 3", StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.StartsWith("IpiHandled { Cpu = 0", StringComparison.Ordinal));
    }

    [Fact]
    public void rseq_with_flag_cpu_interrupts_only_that_cpu_and_aborts_its_critical_section()
    {
        KernelConfig config = With(3,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedRseq), Spin(20000), Mb(MembarrierCmd.PrivateExpeditedRseq, MembarrierCmd.FlagCpu, cpuId: 2)),
            User("b", "p", 1, new Step(StepKind.Rseq, Ns: 60000)),
            User("c", "p", 2, new Step(StepKind.Rseq, Ns: 60000)));
        List<string> log = Run(config);
        Assert.Contains("MembarrierSampled { Cpu = 0, Targets = {2} }", log);
        Assert.Contains("RseqAborted { Cpu = 2, Task = 3, ByIpi = True }", log);
        Assert.DoesNotContain(log, l => l.StartsWith("RseqAborted { Cpu = 1", StringComparison.Ordinal));
        Assert.Contains("RseqCsCommitted { Cpu = 1, Task = 2 }", log);
        Assert.DoesNotContain("RseqCsCommitted { Cpu = 2, Task = 3 }", log);
    }

    [Theory]
    [InlineData(MembarrierCmd.Query, 1, 0, -Errno.EINVAL)]
    [InlineData(-1, 0, 0, -Errno.EINVAL)]
    [InlineData(MembarrierCmd.PrivateExpedited, 0, 0, -Errno.EPERM)]
    [InlineData(MembarrierCmd.PrivateExpeditedSyncCore, 0, 0, -Errno.EPERM)]
    [InlineData(MembarrierCmd.PrivateExpeditedRseq, 0, 0, -Errno.EPERM)]
    [InlineData(MembarrierCmd.PrivateExpeditedRseq, 2, 0, -Errno.EINVAL)]
    [InlineData(MembarrierCmd.PrivateExpedited, MembarrierCmd.FlagCpu, 0, -Errno.EINVAL)]
    [InlineData(MembarrierCmd.Query, 0, 0, MembarrierCmd.AllSupported)]
    [InlineData(MembarrierCmd.GetRegistrations, 0, 0, 0)]
    [InlineData(MembarrierCmd.GlobalExpedited, 0, 0, 0)]
    public void sys_membarrier_checks_flags_then_command_then_registration(int cmd, int flags, int cpu, long ret)
    {
        List<string> log = Run(With(2, User("a", "p", 0, Mb(cmd, flags, cpu)), User("b", "p", 1, Spin(1000))));
        Assert.Contains($"MembarrierExited {{ Cpu = 0, Task = 1, Ret = {ret} }}", log);
    }

    [Fact]
    public void nohz_full_removes_global_from_query_and_makes_it_fail()
    {
        List<string> log = Run(With(2, User("a", "p", 0, Mb(MembarrierCmd.Query), Mb(MembarrierCmd.Global))) with { NohzFull = true });
        Assert.Contains($"MembarrierExited {{ Cpu = 0, Task = 1, Ret = {MembarrierCmd.AllSupported & ~MembarrierCmd.Global} }}", log);
        Assert.Contains($"MembarrierExited {{ Cpu = 0, Task = 1, Ret = {-Errno.EINVAL} }}", log);
    }

    [Fact]
    public void a_single_threaded_process_takes_the_shortcut_without_barriers_or_ipis_except_for_sync_core()
    {
        List<string> log = Run(With(2, User("a", "p", 0,
            Mb(MembarrierCmd.RegisterPrivateExpedited), Mb(MembarrierCmd.PrivateExpedited),
            Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Mb(MembarrierCmd.PrivateExpeditedSyncCore))));
        Assert.Single(log, l => l.StartsWith("FullBarrier { Cpu = 0, Reason = MembarrierEntry", StringComparison.Ordinal));
        Assert.Contains("IpiHandled { Cpu = 0, Ipi = 0, Kind = SyncCore, From = 0 }", log);
    }

    [Fact]
    public void an_offline_or_out_of_range_cpu_id_returns_0_without_an_ipi()
    {
        List<string> log = Run(With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedRseq), Mb(MembarrierCmd.PrivateExpeditedRseq, MembarrierCmd.FlagCpu, cpuId: 7)),
            User("b", "p", 1, Spin(20000))));
        Assert.Contains("MembarrierSampled { Cpu = 0, Targets = {} }", log);
        Assert.Contains("MembarrierExited { Cpu = 0, Task = 1, Ret = 0 }", log.Where(l => l.Contains("Ret = 0")).ToList());
        Assert.DoesNotContain(log, l => l.StartsWith("IpiSent { Ipi = 2000", StringComparison.Ordinal));
    }

    [Fact]
    public void get_registrations_reports_private_expedited_once_sync_core_alone_is_registered()
    {
        List<string> log = Run(With(1, User("a", "p", 0,
            Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Mb(MembarrierCmd.GetRegistrations), Mb(MembarrierCmd.PrivateExpedited))));
        // SYNC_CORE's registration sets PRIVATE_EXPEDITED (not _READY): reported, yet the plain command is refused.
        Assert.Contains($"MembarrierExited {{ Cpu = 0, Task = 1, Ret = {MembarrierCmd.RegisterPrivateExpedited | MembarrierCmd.RegisterPrivateExpeditedSyncCore} }}", log);
        Assert.Contains($"MembarrierExited {{ Cpu = 0, Task = 1, Ret = {-Errno.EPERM} }}", log);
    }

    [Fact]
    public void an_interrupt_whose_exit_reschedules_lets_the_next_thread_leave_by_sysret()
    {
        // B5's window: CPU 1 takes an IPI in user mode; the exit path reschedules to a thread of the
        // same mm that sleeps in a syscall; that thread returns by SYSRET, not IRET.
        KernelConfig config = With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpedited), Spin(30000), Mb(MembarrierCmd.PrivateExpedited)),
            User("b", "p", 1, Spin(60000)),
            User("c", "p", 1, Sleep(10000), Spin(10000))) with { Timing = Fixed with { ReschedOnIrqExit = 1 } };
        List<string> cpu1 = EventLog.Run(config).Log.CpuLines(1);
        Subsequence.AssertIn(
        [
            "KernelEntered { Cpu = 1, Task = 2, Reason = Interrupt }",
            "IpiHandled { Cpu = 1, Ipi = 2000, Kind = Mb, From = 0 }",
            "SchedSwitched { Cpu = 1, Prev = 2, Next = 3, PrevState = Runnable, PrevMm = -1 }",
            "ReturnedToUser { Cpu = 1, Task = 3, Path = Sysret }",
        ], cpu1);
    }

    [Theory]
    [InlineData("x86_64", "ReturnedToUser { Cpu = 0, Task = 1, Path = Sysret }", null)]
    [InlineData("x86_64-pti", "ReturnedToUser { Cpu = 0, Task = 1, Path = Sysret }", "CoreSerialized { Cpu = 0, Reason = PtiCr3 }")]
    [InlineData("arm64", "ReturnedToUser { Cpu = 0, Task = 1, Path = ExceptionReturn }", "CoreSerialized { Cpu = 0, Reason = ExceptionReturn }")]
    [InlineData("powerpc", "ReturnedToUser { Cpu = 0, Task = 1, Path = ExceptionReturn }", "CoreSerialized { Cpu = 0, Reason = ExceptionReturn }")]
    [InlineData("riscv", "ReturnedToUser { Cpu = 0, Task = 1, Path = Sret }", null)]
    public void the_profile_decides_whether_a_syscall_return_serializes(string arch, string ret, string? serialization)
    {
        List<string> log = Run(With(1, User("a", "p", 0, Mb(MembarrierCmd.Query), Spin(100))) with { Arch = ArchProfile.Find(arch)! }, "cpu-0");
        int i = log.IndexOf(ret);
        Assert.True(i >= 1, string.Join("\n", log));
        // The return's own serialization is journaled just before it.
        if (serialization is null) Assert.False(log[i - 1].StartsWith("CoreSerialized", StringComparison.Ordinal));
        else Assert.Equal(serialization, log[i - 1]);
    }

    [Fact]
    public void riscv_sync_core_marks_the_icache_stale_and_switch_mm_runs_fence_i()
    {
        KernelConfig config = With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(20000), Do(StepKind.WriteCode), Mb(MembarrierCmd.PrivateExpeditedSyncCore)),
            User("b", "p", 1, Sleep(40000), Spin(1000)),
            User("q", "q", 1, Spin(1000), Sleep(10000), Spin(100000))) with { Arch = ArchProfile.RiscV };
        List<string> log = Run(config);
        Subsequence.AssertIn(
        [
            "IcacheStaleMaskSet { Mm = 1 }",
            "MmSwitched { Cpu = 1, Prev = 2, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "CoreSerialized { Cpu = 1, Reason = FenceI }",
            "IcacheStaleCleared { Mm = 1, Cpu = 1 }",
        ], log);
    }

    [Fact]
    public void sync_core_on_x86_pti_relies_on_the_cr3_write_of_the_return()
    {
        KernelConfig config = With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(20000), Mb(MembarrierCmd.PrivateExpeditedSyncCore)),
            User("b", "p", 1, Spin(60000))) with { Arch = ArchProfile.X86_64Pti };
        List<string> log = Run(config);
        Assert.Contains("IpiHandled { Cpu = 1, Ipi = 2000, Kind = SyncCore, From = 0 }", log);
        Assert.DoesNotContain(log, l => l.Contains("Reason = IpiSyncCore", StringComparison.Ordinal));
        Assert.Contains("CoreSerialized { Cpu = 1, Reason = PtiCr3 }", log);
    }

    [Theory]
    [InlineData(BugSet.B5, "IpiHandled { Cpu = 1, Ipi = 2000, Kind = Mb, From = 0 }")]
    [InlineData(BugSet.None, "IpiHandled { Cpu = 1, Ipi = 2000, Kind = SyncCore, From = 0 }")]
    public void b5_sends_ipi_mb_for_sync_core(BugSet bugs, string handled)
    {
        KernelConfig config = With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(20000), Mb(MembarrierCmd.PrivateExpeditedSyncCore)),
            User("b", "p", 1, Spin(60000))) with { Bugs = bugs };
        Assert.Contains(handled, Run(config));
    }

    [Fact]
    public void b6_leaves_the_callers_core_unsynced()
    {
        KernelConfig config = With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(20000), Mb(MembarrierCmd.PrivateExpeditedSyncCore)),
            User("b", "p", 1, Spin(60000)));
        Assert.Contains("IpiHandled { Cpu = 0, Ipi = 0, Kind = SyncCore, From = 0 }", Run(config));
        Assert.DoesNotContain("IpiHandled { Cpu = 0, Ipi = 0, Kind = SyncCore, From = 0 }", Run(config with { Bugs = BugSet.B6 }));
    }

    [Fact]
    public void b8_drops_the_sync_core_of_finish_task_switch_and_b8b_the_one_of_kthread_use_mm()
    {
        KernelConfig b8Machine = With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(20000)),
            User("b", "p", 1, Sleep(15000), Spin(1000)),
            Kthread("k", 1, Spin(30000)));
        Assert.Contains("CoreSerialized { Cpu = 1, Reason = SyncCore }", Run(b8Machine));
        Assert.DoesNotContain("CoreSerialized { Cpu = 1, Reason = SyncCore }", Run(b8Machine with { Bugs = BugSet.B8 }));

        // k borrows mm 1 lazily, then kthread_use_mm(mm 1): the same-mm path writes no CR3; k then
        // switches, still using mm 1, to b: user → user of one mm, so finish_task_switch syncs nothing.
        KernelConfig b8bMachine = With(2,
            User("a", "p", 0, Mb(MembarrierCmd.RegisterPrivateExpeditedSyncCore), Spin(40000)),
            User("b", "p", 1, Sleep(50000), Spin(1000)),
            Kthread("k", 1, Spin(20000), Do(StepKind.UseMm, target: 1), Spin(40000)));
        List<string> fixedLog = Run(b8bMachine, "cpu-1");
        Subsequence.AssertIn(
        [
            "MmSwitched { Cpu = 1, Prev = 1, Next = 1, Cr3Written = False, WasLazy = True, TlbGen = 1 }",
            "CoreSerialized { Cpu = 1, Reason = SyncCore }",
            "FullBarrier { Cpu = 1, Reason = MmdropLazyTlb }",
        ], fixedLog);
        Assert.DoesNotContain("CoreSerialized { Cpu = 1, Reason = SyncCore }", Run(b8bMachine with { Bugs = BugSet.B8b }, "cpu-1"));
    }

    [Fact]
    public void b12_skips_a_cpu_inside_the_switching_window()
    {
        // CPU 1 runs kthread k, then switches to b of mm 1: its switching window is [1600, 1800) ns.
        // CPU 0 bumps mm 1's tlb_gen at 1700 ns: with the fix the switching CPU is sent a flush.
        KernelConfig config = With(2,
            User("a", "p", 0, Spin(900), Do(StepKind.Mprotect), Spin(20000)),
            Kthread("k", 1, Spin(1000)),
            User("b", "p", 1, Spin(20000))) with { Timing = Fixed with { StepNsMin = 200, StepNsMax = 200 } };
        List<string> fixedLog = Run(config);
        List<string> buggy = Run(config with { Bugs = BugSet.B12 });
        Assert.Contains("MmSwitchBegan { Cpu = 1, Next = 1, NextTlbGen = 1 }", fixedLog);
        Assert.Contains("TlbGenIncremented { Mm = 1, TlbGen = 2, FreedTables = False }", fixedLog);
        Subsequence.AssertIn(
        [
            "IpiSent { Ipi = 1000, From = 0, To = 1, Kind = FlushTlb, Mm = 1, TlbGen = 2 }",
            "MmSwitched { Cpu = 1, Prev = 0, Next = 1, Cr3Written = True, WasLazy = False, TlbGen = 1 }",
            "TlbFlushed { Cpu = 1, Mm = 1, TlbGen = 2, Full = False }",
        ], fixedLog);
        // B12: should_flush_tlb() says no for LOADED_MM_SWITCHING; CPU 1 keeps generation 1 in user mode.
        Assert.DoesNotContain(buggy, l => l.StartsWith("IpiSent", StringComparison.Ordinal) && l.Contains("Kind = FlushTlb"));
        Assert.DoesNotContain(buggy, l => l.StartsWith("TlbFlushed { Cpu = 1", StringComparison.Ordinal));
    }

    [Fact]
    public void every_profile_reproduces_its_journal_from_the_same_seed()
    {
        foreach (ArchProfile arch in ArchProfile.All)
        {
            var config = new KernelConfig { Cpus = 4, Arch = arch };
            var (a, _, _) = EventLog.Run(config, untilNs: 20_000_000, seed: 17);
            var (b, _, _) = EventLog.Run(config, untilNs: 20_000_000, seed: 17);
            Assert.True(a.Entries.Count > 1000, arch.Name);
            Assert.Equal(a.TimedLines(), b.TimedLines());
        }
    }
}
