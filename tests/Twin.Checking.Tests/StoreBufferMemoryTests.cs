using Twin.Actors.Persistence;
using Twin.Checking.Memory;
using Twin.Kernel.Events;

namespace Twin.Checking.Tests;

/// <summary>The litmus memory's store buffers, event by event.</summary>
public sealed class StoreBufferMemoryTests
{
    private static long s_index;

    private static void At<T>(StoreBufferMemory m, long ns, T evt) where T : struct, Twin.Persistence.Codec.IJournaledEvent<T> =>
        m.OnEvent(new EventMeta("cpu", 0, ns, ++s_index), in evt);

    [Fact]
    public void A_store_is_seen_by_its_own_cpu_at_once_and_by_others_only_after_the_buffer_drains()
    {
        var m = new StoreBufferMemory(tso: true, storeBufferNs: 1000);
        At(m, 0, new UserStored(0, 1, Var: 0, Value: 7));
        At(m, 10, new UserLoaded(0, 1, Var: 0, Reg: 0));
        At(m, 20, new UserLoaded(1, 2, Var: 0, Reg: 1));
        At(m, 1500, new UserLoaded(1, 2, Var: 0, Reg: 2));
        Assert.Equal(7, m.Registers[(1, 0)]);
        Assert.Equal(0, m.Registers[(2, 1)]);
        Assert.Equal(7, m.Registers[(2, 2)]);
    }

    [Fact]
    public void A_full_barrier_drains_the_buffer_of_its_cpu_only()
    {
        var m = new StoreBufferMemory(tso: true, storeBufferNs: 1_000_000);
        At(m, 0, new UserStored(0, 1, Var: 0, Value: 1));
        At(m, 0, new UserStored(1, 2, Var: 1, Value: 1));
        At(m, 5, new FullBarrier(0, BarrierReason.MembarrierEntry));
        At(m, 10, new UserLoaded(1, 2, Var: 0, Reg: 0));
        At(m, 10, new UserLoaded(0, 1, Var: 1, Reg: 1));
        Assert.Equal(1, m.Registers[(2, 0)]);
        Assert.Equal(0, m.Registers[(1, 1)]);
    }

    [Fact]
    public void On_a_weak_architecture_a_load_may_read_memory_from_before_a_recent_store_became_visible()
    {
        var weak = new StoreBufferMemory(tso: false, storeBufferNs: 4000);
        var tso = new StoreBufferMemory(tso: true, storeBufferNs: 4000);
        foreach (StoreBufferMemory m in new[] { weak, tso })
        {
            At(m, 0, new UserStored(0, 1, Var: 0, Value: 1));
            At(m, 1000, new FullBarrier(0, BarrierReason.MembarrierEntry)); // visible from 1000 on
            At(m, 1100, new UserLoaded(1, 2, Var: 0, Reg: 0)); // a weak load may be satisfied as of 1100 - 4000/4 = 100
        }
        Assert.Equal(0, weak.Registers[(2, 0)]);
        Assert.Equal(1, tso.Registers[(2, 0)]);
    }

    [Fact]
    public void A_core_serializing_event_drains_the_buffer_on_x86_only()
    {
        var weak = new StoreBufferMemory(tso: false, storeBufferNs: 1_000_000);
        var tso = new StoreBufferMemory(tso: true, storeBufferNs: 1_000_000);
        foreach (StoreBufferMemory m in new[] { weak, tso })
        {
            At(m, 0, new UserStored(0, 1, Var: 0, Value: 1));
            At(m, 10, new CoreSerialized(0, CoreSerializeReason.Iret));
            At(m, 20, new UserLoaded(1, 2, Var: 0, Reg: 0));
        }
        Assert.Equal(0, weak.Registers[(2, 0)]); // ERET or rfid synchronizes the context, not memory
        Assert.Equal(1, tso.Registers[(2, 0)]); // IRET drains the store buffer
    }

    [Fact]
    public void Two_stores_of_one_cpu_to_one_variable_become_visible_in_order_even_on_a_weak_architecture()
    {
        // Coherence: whatever delays the seed draws, a later store to x never shows before an earlier one.
        for (ulong seed = 1; seed <= 50; seed++)
        {
            var m = new StoreBufferMemory(tso: false, storeBufferNs: 1000, seed);
            At(m, 0, new UserStored(0, 1, Var: 0, Value: 1));
            At(m, 1, new UserStored(0, 1, Var: 0, Value: 2));
            long seen = 0;
            for (long ns = 2; ns <= 2000; ns += 50)
            {
                At(m, ns, new UserLoaded(1, 2, Var: 0, Reg: 0));
                long v = m.Registers[(2, 0)];
                Assert.True(v >= seen, $"seed {seed}: read {v} after {seen}");
                seen = v;
            }
            Assert.Equal(2, seen);
        }
    }

    [Fact]
    public void A_cpu_never_reads_a_variable_from_before_its_own_store_to_it_became_visible()
    {
        // Early loads read memory as of a quarter of the buffer ago, but never from before the CPU's own store left its buffer.
        var m = new StoreBufferMemory(tso: false, storeBufferNs: 4000, seed: 7);
        At(m, 0, new UserStored(0, 1, Var: 0, Value: 5));
        for (long ns = 50; ns <= 6000; ns += 50)
        {
            At(m, ns, new UserLoaded(0, 1, Var: 0, Reg: 0));
            Assert.Equal(5, m.Registers[(1, 0)]);
        }
    }

    [Fact]
    public void The_memory_says_which_stores_a_load_could_not_see()
    {
        var m = new StoreBufferMemory(tso: true, storeBufferNs: 1000);
        var seen = new List<LoadedValue>();
        m.Observer = new Watch(seen);
        At(m, 0, new UserStored(0, 1, Var: 3, Value: 1));    // event index s
        long store = s_index;
        At(m, 10, new UserLoaded(1, 2, Var: 3, Reg: 0));
        Assert.False(seen[^1].OwnBuffer);
        Assert.Equal(0, seen[^1].Store); // the initial value
        Assert.False(m.IsVisible(3, store, seen[^1].AsOfNs));
        Span<(long, int)> hidden = stackalloc (long, int)[4];
        Assert.Equal(1, m.Hidden(3, seen[^1].AsOfNs, hidden));
        Assert.Equal((store, 1), hidden[0]);
        At(m, 20, new UserLoaded(0, 1, Var: 3, Reg: 1));
        Assert.True(seen[^1].OwnBuffer);
        At(m, 2000, new UserLoaded(1, 2, Var: 3, Reg: 2));
        Assert.Equal(store, seen[^1].Store);
        Assert.True(m.IsVisible(3, store, seen[^1].AsOfNs));
        Assert.Equal(0, m.Hidden(3, seen[^1].AsOfNs, hidden));
    }

    private sealed class Watch(List<LoadedValue> seen) : IMemoryObserver
    {
        public void Stored(in EventMeta meta, in UserStored store)
        {
        }

        public void Loaded(in EventMeta meta, in UserLoaded load, in LoadedValue value) => seen.Add(value);
    }
}
