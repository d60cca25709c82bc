using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;
using Twin.Persistence.Codec;

namespace Twin.Checking.Tests;

/// <summary>P-OBS fed scenario A by hand: the guarantee judged by what the loads read in the store-buffer memory.</summary>
public sealed class ObservedOrderMonitorTests
{
    private const int Registered = MembarrierState.PrivateExpedited | MembarrierState.PrivateExpeditedReady;
    private const int X = 0, Y = 1;

    // Events are 10 ns apart: a store stays in its buffer for 100 events unless a barrier drains it.
    private readonly MonitorFeed _feed = new(new MachineFacts(2, NohzFull: false, X86: true, Memory: new MemoryFacts(Tso: true, StoreBufferNs: 1000, Seed: 1)));

    private void Feed<T>(T evt) where T : struct, IJournaledEvent<T> => _feed.Feed(evt);

    /// <summary>CPU 0 runs task 1 and CPU 1 task 2, both threads of registered mm 1, in user mode.</summary>
    private void TwoThreads()
    {
        Feed(new MmCreated(1, 1, Registered));
        Feed(new TaskCreated(1, 1, 1, false));
        Feed(new TaskCreated(2, 1, 1, false));
        for (int cpu = 0; cpu < 2; cpu++)
        {
            Feed(new CpuBooted(cpu));
            Feed(new TaskEnqueued(cpu, cpu + 1));
            Feed(new FullBarrier(cpu, BarrierReason.SchedSpinlock));
            Feed(new SchedSwitched(cpu, KernelIds.IdleTask(cpu), cpu + 1, PrevState.Runnable, 0));
            Feed(new RqMembarrierStateSet(cpu, Registered, RqStateReason.SwitchMm));
            Feed(new MmCpumaskSet(1, cpu));
            Feed(new FullBarrier(cpu, BarrierReason.AtomicRmw));
            Feed(new MmSwitchBegan(cpu, 1, 1));
            Feed(new MmSwitched(cpu, 0, 1, true, false, 1));
            Feed(new FullBarrier(cpu, BarrierReason.Cr3Write));
            Feed(new ReturnedToUser(cpu, cpu + 1, ReturnPath.Sysret));
        }
    }

    /// <summary>Scenario A: CPU 0 x=1; membarrier; r2=y. CPU 1, after the IPI, y=1; r1=x.</summary>
    private void ScenarioA(bool entryBarrier)
    {
        TwoThreads();
        Feed(new UserStored(0, 1, X, 1));
        Feed(new KernelEntered(0, 1, EntryReason.Syscall));
        Feed(new MembarrierEntered(0, 1, 1, MembarrierCmd.PrivateExpedited, 0, -1));
        if (entryBarrier) Feed(new FullBarrier(0, BarrierReason.MembarrierEntry));
        Feed(new MembarrierSampled(0, CpuMask.Empty.With(0).With(1)));
        Feed(new KernelEntered(1, 2, EntryReason.Interrupt));
        Feed(new FullBarrier(1, BarrierReason.IpiHandler));
        Feed(new IpiHandled(1, 1, IpiKind.Mb, 0));
        Feed(new ReturnedToUser(1, 2, ReturnPath.Iret));
        Feed(new UserStored(1, 2, Y, 1));
        Feed(new UserLoaded(1, 2, X, 1));
        Feed(new FullBarrier(0, BarrierReason.MembarrierExit));
        Feed(new MembarrierExited(0, 1, 0));
        Feed(new ReturnedToUser(0, 1, ReturnPath.Sysret));
        Feed(new UserLoaded(0, 1, Y, 2));
    }

    [Fact]
    public void with_the_entry_barrier_the_thread_sees_the_callers_store_and_nothing_is_reported()
    {
        ScenarioA(entryBarrier: true);
        Assert.DoesNotContain("P-OBS", _feed.Properties);
        Assert.Equal(1, _feed.Set.Memory!.Registers[(2, 1)]);
    }

    [Fact]
    public void without_it_both_loads_miss_the_other_side_and_p_obs_names_the_accesses()
    {
        ScenarioA(entryBarrier: false);
        Assert.Equal(0, _feed.Set.Memory!.Registers[(2, 1)]); // r1 = 0
        Assert.Equal(0, _feed.Set.Memory.Registers[(1, 2)]); // r2 = 0
        Violation v = Assert.Single(_feed.Set.Violations(), v => v.Property == "P-OBS");
        Assert.Equal((0, 1, 2), (v.Cpu, v.Mm, v.Task));
        Assert.Contains("membarrier(PRIVATE_EXPEDITED) by task 1 on CPU 0", v.Message);
        Assert.Contains("it stored variable #1", v.Message);
        Assert.Contains("it loaded variable #0", v.Message);
    }

    [Fact]
    public void a_call_that_fails_promises_nothing()
    {
        TwoThreads();
        Feed(new UserStored(0, 1, X, 1));
        Feed(new KernelEntered(0, 1, EntryReason.Syscall));
        Feed(new MembarrierEntered(0, 1, 1, MembarrierCmd.PrivateExpedited, 0, -1));
        Feed(new UserStored(1, 2, Y, 1));
        Feed(new UserLoaded(1, 2, X, 1));
        Feed(new MembarrierExited(0, 1, -Errno.EPERM));
        Feed(new ReturnedToUser(0, 1, ReturnPath.Sysret));
        Feed(new UserLoaded(0, 1, Y, 2));
        Assert.DoesNotContain("P-OBS", _feed.Properties);
    }
}
