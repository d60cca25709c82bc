using Twin.Actors.Persistence;
using Twin.Checking.Monitors;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;
using Twin.Persistence.Codec;

namespace Twin.Checking.Tests;

/// <summary>Monitors fed hand-written event streams: each property's rule, exactly.</summary>
public sealed class MonitorUnitTests
{
    private readonly MonitorFeed _feed = new(new MachineFacts(2, NohzFull: false));

    private void Feed<T>(T evt) where T : struct, IJournaledEvent<T> => _feed.Feed(evt);

    private List<string> Properties => _feed.Properties;

    /// <summary>Two CPUs each running a thread of registered mm 1 in user mode.</summary>
    private void TwoThreadsOfARegisteredMm(int state = MembarrierState.PrivateExpedited | MembarrierState.PrivateExpeditedReady)
    {
        Feed(new MmCreated(1, 1, state));
        Feed(new TaskCreated(1, 1, 1, false));
        Feed(new TaskCreated(2, 1, 1, false));
        for (int cpu = 0; cpu < 2; cpu++)
        {
            Feed(new CpuBooted(cpu));
            Feed(new TaskEnqueued(cpu, cpu + 1));
            Feed(new FullBarrier(cpu, BarrierReason.SchedSpinlock));
            Feed(new SchedSwitched(cpu, KernelIds.IdleTask(cpu), cpu + 1, PrevState.Runnable, 0));
            Feed(new RqMembarrierStateSet(cpu, state, RqStateReason.SwitchMm));
            Feed(new MmCpumaskSet(1, cpu));
            Feed(new MmSwitchBegan(cpu, 1, 1));
            Feed(new MmSwitched(cpu, 0, 1, true, false, 1));
            Feed(new FullBarrier(cpu, BarrierReason.Cr3Write));
            Feed(new CoreSerialized(cpu, CoreSerializeReason.Cr3Write));
            Feed(new ReturnedToUser(cpu, cpu + 1, ReturnPath.Iret));
        }
    }

    /// <summary>
    /// CPU 0's membarrier(<paramref name="cmd"/>) with (or without) its IPI to CPU 1; the handler
    /// aborts CPU 1's rseq section when <paramref name="abortRseq"/>; <paramref name="beforeExit"/>
    /// runs after the handler, before the exit barrier (c).
    /// </summary>
    private void PrivateExpedited(bool ipi, bool handlerBarrier = true, int cmd = MembarrierCmd.PrivateExpedited,
        bool abortRseq = false, Action? beforeExit = null)
    {
        IpiKind kind = cmd == MembarrierCmd.PrivateExpeditedRseq ? IpiKind.Rseq : IpiKind.Mb;
        Feed(new KernelEntered(0, 1, EntryReason.Syscall));
        Feed(new MembarrierEntered(0, 1, 1, cmd, 0, -1));
        Feed(new FullBarrier(0, BarrierReason.MembarrierEntry));
        Feed(new MembarrierSampled(0, CpuMask.Empty.With(0).With(1)));
        if (ipi)
        {
            Feed(new KernelEntered(1, 2, EntryReason.Interrupt));
            if (handlerBarrier) Feed(new FullBarrier(1, BarrierReason.IpiHandler));
            if (abortRseq) Feed(new RseqAborted(1, 2, ByIpi: true));
            Feed(new IpiHandled(1, 1, kind, 0));
            Feed(new ReturnedToUser(1, 2, ReturnPath.Iret));
        }
        beforeExit?.Invoke();
        Feed(new FullBarrier(0, BarrierReason.MembarrierExit));
        Feed(new MembarrierExited(0, 1, 0));
    }

    [Fact]
    public void private_expedited_with_its_ipi_is_clean()
    {
        TwoThreadsOfARegisteredMm();
        PrivateExpedited(ipi: true);
        Assert.Empty(Properties);
    }

    [Fact]
    public void private_expedited_missing_the_ipi_to_a_cpu_running_the_mm_is_p_pe()
    {
        TwoThreadsOfARegisteredMm();
        PrivateExpedited(ipi: false);
        Violation v = Assert.Single(_feed.Set.Violations());
        Assert.Equal(("P-PE", 1, 1), (v.Property, v.Cpu, v.Mm));
        Assert.Contains("ran no IPI handler's smp_mb() between the caller's entry barrier (a)", v.Message);
        Assert.Contains("membarrier(2)", v.Guarantee);
    }

    [Fact]
    public void an_ipi_handled_without_its_barrier_does_not_count_and_is_p_pe()
    {
        TwoThreadsOfARegisteredMm();
        PrivateExpedited(ipi: true, handlerBarrier: false);
        Violation v = Assert.Single(_feed.Set.Violations());
        Assert.Equal(("P-PE", 1), (v.Property, v.Cpu));
    }

    [Fact]
    public void an_unregistered_private_expedited_must_fail_with_eperm()
    {
        TwoThreadsOfARegisteredMm(state: 0);
        Feed(new KernelEntered(0, 1, EntryReason.Syscall));
        Feed(new MembarrierEntered(0, 1, 1, MembarrierCmd.PrivateExpedited, 0, -1));
        Feed(new MembarrierExited(0, 1, 0));
        Assert.Equal(["E-EPERM"], Properties);
    }

    [Fact]
    public void a_thread_returning_to_user_after_sync_core_without_core_serialization_is_p_sc()
    {
        const int sc = MembarrierState.PrivateExpedited | MembarrierState.PrivateExpeditedReady | MembarrierState.SyncCore | MembarrierState.SyncCoreReady;
        TwoThreadsOfARegisteredMm(sc);
        Feed(new CodeWritten(0, 1, 1));
        Feed(new KernelEntered(0, 1, EntryReason.Syscall));
        Feed(new MembarrierEntered(0, 1, 1, MembarrierCmd.PrivateExpeditedSyncCore, 0, -1));
        Feed(new FullBarrier(0, BarrierReason.MembarrierEntry));
        Feed(new MembarrierSampled(0, CpuMask.Empty.With(0).With(1)));
        Feed(new FullBarrier(0, BarrierReason.IpiHandler));
        Feed(new CoreSerialized(0, CoreSerializeReason.IpiSyncCore));
        Feed(new KernelEntered(1, 2, EntryReason.Interrupt));
        Feed(new FullBarrier(1, BarrierReason.IpiHandler));
        Feed(new IpiHandled(1, 1, IpiKind.SyncCore, 0));
        // The IPI handler did not sync (B4), and the return path reschedules: CPU 1 goes back to user by SYSRET.
        Feed(new FullBarrier(0, BarrierReason.MembarrierExit));
        Feed(new MembarrierExited(0, 1, 0));
        Feed(new ReturnedToUser(1, 2, ReturnPath.Sysret));
        Violation v = Assert.Single(_feed.Set.Violations());
        Assert.Equal(("P-SC", 1), (v.Property, v.Cpu));
        Assert.True(v.WindowStart < v.EventIndex);
    }

    [Fact]
    public void a_cpu_left_at_an_old_tlb_gen_after_a_shootdown_is_tlb_1()
    {
        TwoThreadsOfARegisteredMm();
        Feed(new TlbGenIncremented(1, 2, false));
        Feed(new TlbShootdownStarted(0, 1, 2, false));
        Feed(new TlbFlushed(0, 1, 2, false));
        Feed(new TlbShootdownFinished(0, 1, 2));
        Violation v = Assert.Single(_feed.Set.Violations());
        Assert.Equal(("TLB-1", 1), (v.Property, v.Cpu));
    }

    [Fact]
    public void loading_an_mm_without_being_in_its_cpumask_is_tlb_2()
    {
        TwoThreadsOfARegisteredMm();
        Feed(new MmCreated(2, 3, 0));
        Feed(new MmSwitchBegan(1, 2, 1));
        Feed(new MmSwitched(1, 1, 2, true, false, 1));
        Assert.Contains("TLB-2", Properties);
    }

    [Fact]
    public void exit_mm_without_a_barrier_after_the_last_user_access_is_p_pe()
    {
        TwoThreadsOfARegisteredMm();
        Feed(new KernelEntered(1, 2, EntryReason.Syscall));
        Feed(new TaskMmChanged(2, 0, MmChangeReason.ExitMm));
        Violation v = Assert.Single(_feed.Set.Violations());
        Assert.Equal(("P-PE", 1), (v.Property, v.Cpu));
        Assert.Contains("no exit_mm()'s smp_mb__after_spinlock() after its last user access", v.Message);
    }

    [Fact]
    public void a_committed_rseq_section_that_membarrier_had_to_abort_is_p_rseq()
    {
        const int rseq = MembarrierState.PrivateExpedited | MembarrierState.Rseq | MembarrierState.RseqReady;
        TwoThreadsOfARegisteredMm(rseq);
        Feed(new RseqCsEntered(1, 2));
        PrivateExpedited(ipi: true, cmd: MembarrierCmd.PrivateExpeditedRseq);
        Feed(new RseqCsCommitted(1, 2));
        Assert.Equal(["P-RSEQ"], Properties);
    }

    [Fact]
    public void a_new_rseq_section_entered_after_the_ipi_aborted_the_caught_one_may_commit()
    {
        // Seed 123 of the default soak: the handler aborts the caught section, the thread enters a
        // new one before the call returns, and commits it afterwards. That is not the caught section.
        const int rseq = MembarrierState.PrivateExpedited | MembarrierState.Rseq | MembarrierState.RseqReady;
        TwoThreadsOfARegisteredMm(rseq);
        Feed(new RseqCsEntered(1, 2));
        PrivateExpedited(ipi: true, cmd: MembarrierCmd.PrivateExpeditedRseq, abortRseq: true, beforeExit: () => Feed(new RseqCsEntered(1, 2)));
        Feed(new RseqCsCommitted(1, 2));
        Assert.Empty(Properties);
    }

    [Fact]
    public void exec_without_clearing_the_runqueue_copy_is_p_exec()
    {
        TwoThreadsOfARegisteredMm();
        Feed(new KernelEntered(0, 1, EntryReason.Syscall));
        Feed(new MmCreated(2, 1, 0));
        Feed(new FullBarrier(0, BarrierReason.ExecMmap));
        Feed(new TaskMmChanged(1, 2, MmChangeReason.Exec));
        Assert.Contains("P-EXEC", Properties);
    }

    [Fact]
    public void the_error_oracle_follows_the_kernels_order_of_checks()
    {
        var oracle = new ErrorTableMonitor(new MachineFacts(4, NohzFull: true));
        Assert.Equal(-Errno.EINVAL, oracle.Expected(MembarrierCmd.Query, 1, 0));
        Assert.Equal(MembarrierCmd.AllSupported & ~MembarrierCmd.Global, oracle.Expected(MembarrierCmd.Query, 0, 0));
        Assert.Equal(-Errno.EINVAL, oracle.Expected(MembarrierCmd.Global, 0, 0));
        Assert.Equal(-Errno.EINVAL, oracle.Expected(MembarrierCmd.PrivateExpedited, MembarrierCmd.FlagCpu, 0));
        Assert.Equal(-Errno.EPERM, oracle.Expected(MembarrierCmd.PrivateExpeditedRseq, MembarrierCmd.FlagCpu, MembarrierState.PrivateExpeditedReady));
        Assert.Equal(-Errno.EINVAL, oracle.Expected(-1, 0, 0));
        Assert.Equal(84, oracle.Expected(MembarrierCmd.GetRegistrations, 0, 0xFF & ~(MembarrierState.Rseq | MembarrierState.RseqReady)));
    }
}
