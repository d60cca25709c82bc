using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Lam;
using Twin.Persistence.Codec;

namespace Twin.Checking.Tests;

/// <summary>x86 LAM's L1–L4 on hand-written event streams.</summary>
public sealed class LamMonitorTests
{
    private readonly MonitorFeed _feed = new(new MachineFacts(2, NohzFull: false, Lam: true));

    private void Feed<T>(T evt) where T : struct, IJournaledEvent<T> => _feed.Feed(evt);

    private List<string> Properties => _feed.Properties;

    /// <summary>Task 1 of mm 1 runs on CPU 0 in user mode; CPU 1 has mm 1 loaded (a kthread used it) and is lazy.</summary>
    private void OneThreadAndALazyCpu()
    {
        Feed(new MmCreated(1, 1, 0));
        Feed(new TaskCreated(1, 1, 1, false));
        for (int cpu = 0; cpu < 2; cpu++)
        {
            Feed(new CpuBooted(cpu));
            Feed(new MmCpumaskSet(1, cpu));
            Feed(new MmSwitchBegan(cpu, 1, 1));
            Feed(new MmSwitched(cpu, 0, 1, true, false, 1));
        }
        Feed(new TaskEnqueued(0, 1));
        Feed(new SchedSwitched(0, KernelIds.IdleTask(0), 1, PrevState.Runnable, 0));
        Feed(new ReturnedToUser(0, 1, ReturnPath.Iret));
        Feed(new LazyTlbEntered(1, 1));
    }

    private void Enable(bool ipiToCpu1)
    {
        Feed(new KernelEntered(0, 1, EntryReason.Syscall));
        Feed(new MmLamEnabled(1, 6));
        Feed(new CpuLamLoaded(0, 1, 6, 6, LamLoadReason.EnableLamLocal));
        if (ipiToCpu1) Feed(new CpuLamLoaded(1, 1, 6, 6, LamLoadReason.EnableLamIpi));
        Feed(new MmLamLocked(1));
        Feed(new ArchPrctlReturned(0, 1, ArchPrctlOption.EnableTaggedAddr, 6, 0));
        Feed(new ReturnedToUser(0, 1, ReturnPath.Sysret));
    }

    [Fact]
    public void An_enable_that_reaches_every_cpu_with_the_mm_loaded_is_clean()
    {
        OneThreadAndALazyCpu();
        Enable(ipiToCpu1: true);
        Assert.Empty(Properties);
    }

    [Fact]
    public void L3_a_cpu_that_had_the_mm_loaded_still_runs_without_the_bits_when_arch_prctl_returns()
    {
        OneThreadAndALazyCpu();
        Enable(ipiToCpu1: false);
        Assert.Equal(["L3"], Properties);
    }

    [Fact]
    public void L2_the_thread_switched_to_that_cpu_without_a_cr3_write_returns_to_user_with_LAM_off()
    {
        OneThreadAndALazyCpu();
        Enable(ipiToCpu1: false);
        Feed(new KernelEntered(0, 1, EntryReason.Syscall));
        Feed(new SchedSwitched(0, 1, KernelIds.IdleTask(0), PrevState.Sleeping, -1));
        Feed(new TaskEnqueued(1, 1));
        Feed(new SchedSwitched(1, KernelIds.IdleTask(1), 1, PrevState.Runnable, 0));
        Feed(new MmSwitched(1, 1, 1, false, true, 1));
        Feed(new FullBarrier(1, BarrierReason.MmdropLazyTlb));
        Feed(new ReturnedToUser(1, 1, ReturnPath.Sysret));
        Assert.Equal(["L3", "L2"], Properties);
    }

    [Fact]
    public void L5_untagged_addr_strips_what_the_cpu_masks_and_only_that()
    {
        OneThreadAndALazyCpu();
        Enable(ipiToCpu1: true);
        Feed(new UntaggedAddr(0, 1, 1, 6)); // the per-CPU copy, equal to CR3's bits
        Assert.Empty(Properties);
        Feed(new CpuLamLoaded(1, 2, 0, 0, LamLoadReason.SwitchMm)); // CPU 1 moves to another mm without LAM
        Feed(new UntaggedAddr(1, 1, 1, 6)); // 6.2: the mm's mask, not this CPU's
        Assert.Equal(["L5"], Properties);
    }

    [Fact]
    public void L4_cr3_and_cpu_tlbstate_from_two_reads()
    {
        OneThreadAndALazyCpu();
        Feed(new CpuLamLoaded(1, 1, 0, 6, LamLoadReason.SwitchMm));
        Assert.Equal(["L4"], Properties);
    }

    [Fact]
    public void L1_a_thread_created_without_the_lock_and_an_enable_after_the_lock()
    {
        OneThreadAndALazyCpu();
        Feed(new TaskCreated(2, 1, 1, false)); // copy_thread() did not set MM_CONTEXT_LOCK_LAM
        Assert.Equal(["L1"], Properties);
        Feed(new MmLamLocked(1));
        Feed(new TaskCreated(3, 1, 1, false));
        Assert.Equal(["L1"], Properties);
        Feed(new MmLamEnabled(1, 6)); // the lock forbids it
        Assert.Equal(["L1", "L1"], Properties);
    }

    [Fact]
    public void Without_the_LAM_feature_modelled_threads_need_no_lock()
    {
        var feed = new MonitorFeed(new MachineFacts(2, NohzFull: false));
        feed.Feed(new MmCreated(1, 1, 0));
        feed.Feed(new TaskCreated(1, 1, 1, false));
        feed.Feed(new TaskCreated(2, 1, 1, false));
        Assert.Empty(feed.Properties);
    }
}
