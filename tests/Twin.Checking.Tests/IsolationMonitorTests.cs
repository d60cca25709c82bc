using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Persistence.Codec;

namespace Twin.Checking.Tests;

/// <summary>Task isolation's I1–I4 on hand-written event streams: CPU 1 is isolated and runs task 1 in user mode; CPU 0 patches.</summary>
public sealed class IsolationMonitorTests
{
    private readonly MonitorFeed _feed = new(new MachineFacts(2, NohzFull: true));

    private void Feed<T>(T evt) where T : struct, IJournaledEvent<T> => _feed.Feed(evt);

    private List<string> Properties => _feed.Properties;

    private void UserOnCpu1()
    {
        Feed(new CpuBooted(0));
        Feed(new CpuBooted(1));
        Feed(new MmCreated(1, 1, 0));
        Feed(new TaskCreated(1, 1, 1, false));
        Feed(new TaskEnqueued(1, 1));
        Feed(new SchedSwitched(1, KernelIds.IdleTask(1), 1, PrevState.Runnable, 0));
        Feed(new ReturnedToUser(1, 1, ReturnPath.Iret));
        Feed(new TextPokeStepped(0, 1, TextPokePhase.Began, 1));
        Feed(new TextPokeStepped(0, 1, TextPokePhase.Int3Written, 1));
    }

    [Fact]
    public void A_bit_set_in_user_mode_and_flushed_at_entry_before_any_text_is_clean()
    {
        UserOnCpu1();
        Feed(new CtWork(1, CtWorkStep.Set, 0));
        Feed(new KernelEntered(1, 1, EntryReason.Syscall));
        Feed(new CoreSerialized(1, CoreSerializeReason.TextPokeSync));
        Feed(new CtWork(1, CtWorkStep.Flushed, 1));
        Feed(new TextFetched(1, 0, -1, 0, TextContext.Syscall));
        Feed(new ReturnedToUser(1, 1, ReturnPath.Sysret));
        Assert.Empty(Properties);
    }

    [Fact]
    public void A_bit_set_while_the_CPU_runs_kernel_code_is_I1()
    {
        UserOnCpu1();
        Feed(new KernelEntered(1, 1, EntryReason.Syscall));
        Feed(new CtWork(1, CtWorkStep.Set, 0));
        Assert.Equal(["I1"], Properties);
    }

    [Fact]
    public void Patchable_text_before_the_flush_is_I2()
    {
        UserOnCpu1();
        Feed(new CtWork(1, CtWorkStep.Set, 0));
        Feed(new KernelEntered(1, 1, EntryReason.Syscall));
        Feed(new TextFetched(1, 0, 0, 0, TextContext.Entry));
        Assert.Equal(["I2"], Properties);
    }

    [Fact]
    public void Entering_and_leaving_the_kernel_with_the_bit_still_pending_is_I3()
    {
        UserOnCpu1();
        Feed(new CtWork(1, CtWorkStep.Set, 0));
        Feed(new KernelEntered(1, 1, EntryReason.Interrupt));
        Feed(new ReturnedToUser(1, 1, ReturnPath.Iret));
        Assert.Equal(["I3"], Properties);
    }

    [Fact]
    public void A_deferral_outside_text_pokes_sync_steps_is_I4()
    {
        UserOnCpu1();
        Feed(new CoreSerialized(0, CoreSerializeReason.TextPokeSync));
        Feed(new CoreSerialized(1, CoreSerializeReason.TextPokeSync));
        Feed(new TextPokeStepped(0, 1, TextPokePhase.Synced1, 1));
        Feed(new CtWork(1, CtWorkStep.Set, 0));
        Assert.Equal(["I4"], Properties);
    }
}
