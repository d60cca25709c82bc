using Twin.Kernel.Cpu;

namespace Twin.Kernel.Tests;

/// <summary>rq->curr->mm as another CPU's membarrier sample reads it under the litmus option.</summary>
public sealed class BufferedWordTests
{
    [Fact]
    public void A_store_is_read_by_others_once_due_or_after_the_storing_cpus_barrier()
    {
        var b = new BufferedWord();
        b.Store(value: 3, dueNs: 100);
        Assert.Equal(0, b.Read(50));
        Assert.Equal(3, b.Read(100));

        b.Store(value: 0, dueNs: 1_000);
        Assert.Equal(3, b.Read(500));
        b.Drain();
        Assert.Equal(0, b.Read(500));
    }

    [Fact]
    public void Stores_to_the_one_location_never_overtake_each_other()
    {
        // On a weak architecture the second store can be due first; coherence makes the first visible with it, never after it.
        var b = new BufferedWord();
        b.Store(value: 5, dueNs: 900);
        b.Store(value: 7, dueNs: 200);
        Assert.Equal(0, b.Read(100));
        Assert.Equal(7, b.Read(200));
        Assert.Equal(7, b.Read(1_000)); // the older store of 5 is gone, not visible late
    }
}
