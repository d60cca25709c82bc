using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;
using Twin.Persistence.Codec;

namespace Twin.Checking.Tests;

/// <summary>
/// The checkers ask for the barrier the kernel pairs with the other side, not for any barrier in
/// the window: one that runs there for another reason leaves the violation standing, and the
/// message names both sides.
/// </summary>
public sealed class PairingMonitorTests
{
    private const int Registered = MembarrierState.PrivateExpedited | MembarrierState.PrivateExpeditedReady;

    private readonly MonitorFeed _feed = new(new MachineFacts(2, NohzFull: false, X86: true));

    private void Feed<T>(T evt) where T : struct, IJournaledEvent<T> => _feed.Feed(evt);

    /// <summary>Registered mm 1 with tasks 1 and 2; CPU 0 runs task 1 in user mode, CPU 1 is idle and lazy on mm 1.</summary>
    private void OneThreadRunningOneIdle()
    {
        Feed(new MmCreated(1, 1, Registered));
        Feed(new TaskCreated(1, 1, 1, false));
        Feed(new TaskCreated(2, 1, 1, false));
        Feed(new CpuBooted(0));
        Feed(new CpuBooted(1));
        Feed(new TaskEnqueued(0, 1));
        Feed(new FullBarrier(0, BarrierReason.SchedSpinlock));
        Feed(new SchedSwitched(0, KernelIds.IdleTask(0), 1, PrevState.Runnable, 0));
        Feed(new RqMembarrierStateSet(0, Registered, RqStateReason.SwitchMm));
        Feed(new MmCpumaskSet(1, 0));
        Feed(new FullBarrier(0, BarrierReason.AtomicRmw));
        Feed(new MmSwitchBegan(0, 1, 1));
        Feed(new MmSwitched(0, 0, 1, true, false, 1));
        Feed(new FullBarrier(0, BarrierReason.Cr3Write));
        Feed(new ReturnedToUser(0, 1, ReturnPath.Iret));
    }

    /// <summary>CPU 1 switches from idle to task 2 of mm 1 (a different loaded mm: the switch writes CR3 unless <paramref name="cr3"/> is false).</summary>
    private void SwitchInTask2(bool cr3, Action? afterCurrStore = null)
    {
        Feed(new TaskEnqueued(1, 2));
        Feed(new FullBarrier(1, BarrierReason.SchedSpinlock));
        Feed(new SchedSwitched(1, KernelIds.IdleTask(1), 2, PrevState.Runnable, 0));
        Feed(new RqMembarrierStateSet(1, Registered, RqStateReason.SwitchMm));
        afterCurrStore?.Invoke();
        Feed(new MmCpumaskSet(1, 1));
        Feed(new FullBarrier(1, BarrierReason.AtomicRmw));
        Feed(new MmSwitchBegan(1, 1, 1));
        Feed(new MmSwitched(1, 0, 1, true, false, 1));
        if (cr3) Feed(new FullBarrier(1, BarrierReason.Cr3Write));
        Feed(new ReturnedToUser(1, 2, ReturnPath.Iret));
    }

    [Fact]
    public void a_switch_with_the_cr3_barrier_is_clean()
    {
        OneThreadRunningOneIdle();
        SwitchInTask2(cr3: true);
        Assert.Empty(_feed.Properties);
    }

    [Fact]
    public void a_switch_whose_only_barrier_after_rq_curr_is_the_tlb_one_is_p_pe_naming_both_sides_and_the_call_that_raced()
    {
        OneThreadRunningOneIdle();
        SwitchInTask2(cr3: false, afterCurrStore: () =>
        {
            // CPU 0's call reads CPU 1's rq->curr before the switch's barrier and skips it.
            Feed(new KernelEntered(0, 1, EntryReason.Syscall));
            Feed(new MembarrierEntered(0, 1, 1, MembarrierCmd.PrivateExpedited, 0, -1));
            Feed(new FullBarrier(0, BarrierReason.MembarrierEntry));
            Feed(new MembarrierSampled(0, CpuMask.Empty.With(0)));
        });
        Violation v = Assert.Single(_feed.Set.Violations(), x => x.Property == "P-PE" && x.Cpu == 1);
        Assert.Contains("switch_mm_irqs_off()'s CR3 write", v.Message);
        Assert.Contains("pairs with membarrier's entry barrier (a)", v.Message);
        Assert.Contains("cpumask_set_cpu()/smp_mb() at event", v.Message);
        Assert.Contains("belongs to another pairing", v.Message);
        Assert.Contains("membarrier(PRIVATE_EXPEDITED) on CPU 0 read CPU 1's rq->curr", v.Message);
    }

    [Fact]
    public void an_ipi_whose_own_barrier_was_lost_is_p_pe_even_with_another_barrier_after_a()
    {
        OneThreadRunningOneIdle();
        SwitchInTask2(cr3: true);
        Feed(new KernelEntered(0, 1, EntryReason.Syscall));
        Feed(new MembarrierEntered(0, 1, 1, MembarrierCmd.PrivateExpedited, 0, -1));
        Feed(new FullBarrier(0, BarrierReason.MembarrierEntry));
        Feed(new MembarrierSampled(0, CpuMask.Empty.With(0).With(1)));
        Feed(new KernelEntered(1, 2, EntryReason.Interrupt));
        Feed(new FullBarrier(1, BarrierReason.IncTlbGen)); // a shootdown's barrier, not the handler's
        Feed(new IpiHandled(1, 1, IpiKind.Mb, 0));
        Feed(new ReturnedToUser(1, 2, ReturnPath.Iret));
        Feed(new FullBarrier(0, BarrierReason.MembarrierExit));
        Feed(new MembarrierExited(0, 1, 0));
        Violation v = Assert.Single(_feed.Set.Violations());
        Assert.Equal(("P-PE", 1), (v.Property, v.Cpu));
        Assert.Contains("no IPI handler's smp_mb()", v.Message);
    }

    [Fact]
    public void a_switch_away_with_only_an_ipi_barrier_after_the_last_access_is_p_pe()
    {
        OneThreadRunningOneIdle();
        Feed(new KernelEntered(0, 1, EntryReason.Interrupt));
        Feed(new FullBarrier(0, BarrierReason.IpiHandler));
        Feed(new SchedSwitched(0, 1, KernelIds.IdleTask(0), PrevState.Sleeping, -1));
        Violation v = Assert.Single(_feed.Set.Violations());
        Assert.Equal(("P-PE", 0), (v.Property, v.Cpu));
        Assert.Contains("no __schedule()'s smp_mb__after_spinlock() after its last user access", v.Message);
        Assert.Contains("an IPI handler's smp_mb() at event", v.Message);
    }

    [Fact]
    public void an_unlazy_without_cr3_followed_only_by_the_tlb_gen_barrier_is_lazy_1()
    {
        OneThreadRunningOneIdle();
        Feed(new LazyTlbEntered(1, 1));
        Feed(new TaskEnqueued(1, 2));
        Feed(new FullBarrier(1, BarrierReason.SchedSpinlock));
        Feed(new SchedSwitched(1, KernelIds.IdleTask(1), 2, PrevState.Runnable, 0));
        Feed(new RqMembarrierStateSet(1, Registered, RqStateReason.SwitchMm));
        Feed(new FullBarrier(1, BarrierReason.UnlazyTlbGen));
        Feed(new MmSwitched(1, 1, 1, false, true, 1));
        Feed(new FullBarrier(1, BarrierReason.IpiHandler));
        Feed(new ReturnedToUser(1, 2, ReturnPath.Iret));
        Assert.Contains("LAZY-1", _feed.Properties);
    }

    [Fact]
    public void a_switch_reading_tlb_gen_without_the_cpumask_barrier_is_tlb_3()
    {
        OneThreadRunningOneIdle();
        Feed(new TaskEnqueued(1, 2));
        Feed(new FullBarrier(1, BarrierReason.SchedSpinlock));
        Feed(new SchedSwitched(1, KernelIds.IdleTask(1), 2, PrevState.Runnable, 0));
        Feed(new RqMembarrierStateSet(1, Registered, RqStateReason.SwitchMm));
        Feed(new MmCpumaskSet(1, 1));
        Feed(new MmSwitchBegan(1, 1, 1));
        Violation v = Assert.Single(_feed.Set.Violations());
        Assert.Equal(("TLB-3", 1), (v.Property, v.Cpu));
        Assert.Contains("cpumask_set_cpu()", v.Message);
    }

    [Fact]
    public void a_shootdown_reading_the_cpumask_without_inc_mm_tlb_gen_barrier_is_tlb_3_and_with_it_is_clean()
    {
        OneThreadRunningOneIdle();
        Feed(new KernelEntered(0, 1, EntryReason.Syscall));
        Feed(new TlbGenIncremented(1, 2, false));
        Feed(new FullBarrier(0, BarrierReason.IncTlbGen));
        Feed(new TlbShootdownStarted(0, 1, 2, false));
        Assert.Empty(_feed.Properties);
        Feed(new TlbGenIncremented(1, 3, false));
        Feed(new TlbShootdownStarted(0, 1, 3, false));
        Violation v = Assert.Single(_feed.Set.Violations());
        Assert.Equal("TLB-3", v.Property);
        Assert.Contains("inc_mm_tlb_gen()", v.Message);
    }
}
