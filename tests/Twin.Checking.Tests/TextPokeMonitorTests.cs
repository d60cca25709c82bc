using Twin.Kernel.Events;
using Twin.Kernel.Text;
using Twin.Persistence.Codec;

namespace Twin.Checking.Tests;

/// <summary>text_poke_bp's T1–T4 and the liveness check on hand-written event streams (two CPUs, batches on CPU 0).</summary>
public sealed class TextPokeMonitorTests
{
    private readonly MonitorFeed _feed = new(new MachineFacts(2, NohzFull: false, TextPokeLivenessNs: 5_000));

    private void Feed<T>(T evt) where T : struct, IJournaledEvent<T> => _feed.Feed(evt);

    private List<string> Properties => _feed.Properties;

    private void Boot()
    {
        Feed(new CpuBooted(0));
        Feed(new CpuBooted(1));
    }

    private void Step(int batch, TextPokePhase phase) => Feed(new TextPokeStepped(0, batch, phase, 0b1));

    /// <summary>A write and its sync, with CPU 1 serializing in between unless <paramref name="cpu1Syncs"/> is false.</summary>
    private void WriteAndSync(int batch, TextPokePhase write, TextPokePhase synced, bool cpu1Syncs = true)
    {
        Step(batch, write);
        Feed(new CoreSerialized(0, CoreSerializeReason.TextPokeSync));
        if (cpu1Syncs) Feed(new CoreSerialized(1, CoreSerializeReason.TextPokeSync));
        Step(batch, synced);
    }

    private void WholeBatch(int batch, bool cpu1Syncs = true)
    {
        Step(batch, TextPokePhase.Began);
        WriteAndSync(batch, TextPokePhase.Int3Written, TextPokePhase.Synced1, cpu1Syncs);
        WriteAndSync(batch, TextPokePhase.TailWritten, TextPokePhase.Synced2);
        WriteAndSync(batch, TextPokePhase.FirstWritten, TextPokePhase.Synced3);
        Step(batch, TextPokePhase.Ended);
    }

    [Fact]
    public void A_batch_with_every_CPU_synced_and_a_handler_inside_it_is_clean()
    {
        Boot();
        Step(1, TextPokePhase.Began);
        WriteAndSync(1, TextPokePhase.Int3Written, TextPokePhase.Synced1);
        Feed(new TextFetched(1, 0, 0, 0, TextContext.Syscall)); // old
        Feed(new TextFetched(1, 0, TextState.Int3, 0, TextContext.Nmi));
        Feed(new Int3Handled(1, 0, Int3Step.Trapped, 0, (int)TextContext.Nmi));
        Feed(new Int3Handled(1, 0, Int3Step.RefTaken, 1, 0));
        Feed(new Int3Handled(1, 0, Int3Step.ArrayRead, 1, 1));
        Feed(new Int3Handled(1, 0, Int3Step.Emulated, 1, 1));
        Feed(new Int3Handled(1, 0, Int3Step.RefPut, 1, 0));
        WriteAndSync(1, TextPokePhase.TailWritten, TextPokePhase.Synced2);
        WriteAndSync(1, TextPokePhase.FirstWritten, TextPokePhase.Synced3);
        Feed(new TextFetched(1, 0, 1, 1, TextContext.Syscall)); // new
        Step(1, TextPokePhase.Ended);
        Assert.Empty(Properties);
    }

    [Fact]
    public void A_torn_fetch_an_unclaimed_INT3_and_a_wrong_emulation_are_T1()
    {
        Boot();
        Step(1, TextPokePhase.Began);
        Feed(new TextFetched(1, 0, 0, 1, TextContext.Syscall));
        Feed(new Int3Handled(1, 0, Int3Step.NotOurs, 0, 1));
        Feed(new Int3Handled(1, 0, Int3Step.Emulated, 1, 0));
        Assert.Equal(["T1", "T1", "T1"], Properties);
    }

    [Fact]
    public void A_sync_that_completes_before_a_CPU_serialized_is_T2()
    {
        Boot();
        WholeBatch(1, cpu1Syncs: false);
        Assert.Equal(["T2"], Properties);
    }

    [Fact]
    public void Reading_a_NULL_or_reused_or_retired_array_and_retiring_under_a_ref_are_T3()
    {
        Boot();
        WholeBatch(1);
        Feed(new Int3Handled(1, -1, Int3Step.ArrayRead, 1, 0)); // B16: NULL vec
        Step(2, TextPokePhase.Began);
        Feed(new Int3Handled(1, -1, Int3Step.ArrayRead, 1, 2)); // B17: found batch 1, read batch 2
        Feed(new Int3Handled(1, -1, Int3Step.RefTaken, 2, 0));
        Step(2, TextPokePhase.Ended);                             // retired under CPU 1's ref
        Feed(new Int3Handled(1, -1, Int3Step.ArrayRead, 2, 2));   // read after retirement
        Assert.Equal(["T3", "T3", "T3", "T3"], Properties);
    }

    [Fact]
    public void Two_batches_at_once_are_T4()
    {
        Boot();
        Step(1, TextPokePhase.Began);
        Feed(new TextPokeStepped(1, 2, TextPokePhase.Began, 0b10));
        Assert.Equal(["T4"], Properties);
    }

    [Fact]
    public void A_batch_that_does_not_finish_in_time_is_reported_once_with_its_waiting_handlers()
    {
        Boot();
        Step(1, TextPokePhase.Began);
        Step(1, TextPokePhase.Int3Written);
        Feed(new Int3Handled(0, 0, Int3Step.Spinning, 1, 0));
        // The feed's clock advances 10 ns an event: 5 µs is 500 events.
        for (int i = 0; i < 600; i++) Feed(new Int3Handled(0, 0, Int3Step.Spinning, 1, 0));
        Violation v = Assert.Single(_feed.Set.Violations());
        Assert.Equal("T-LIVE", v.Property);
        Assert.Contains("waiting for it on CPUs 0", v.Message);
    }
}
