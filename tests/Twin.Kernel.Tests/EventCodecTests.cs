using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Persistence.Codec;

namespace Twin.Kernel.Tests;

/// <summary>Every kernel event survives encode → decode, and manifests are unique and versioned.</summary>
public sealed class EventCodecTests
{
    private static T RoundTrip<T>(T evt) where T : struct, IJournaledEvent<T>
    {
        Span<byte> buf = stackalloc byte[PayloadLimits.MaxPayloadBytes];
        var w = new PayloadWriter(buf);
        evt.Write(ref w);
        var r = new PayloadReader(w.Written);
        T back = T.Read(ref r);
        r.EnsureConsumed();
        return back;
    }

    [Fact]
    public void every_event_type_round_trips_with_extreme_field_values()
    {
        Assert.Equal(new TaskCreated(int.MaxValue, 7, 3, false), RoundTrip(new TaskCreated(int.MaxValue, 7, 3, false)));
        Assert.Equal(new TaskCreated(9, 9, 0, true), RoundTrip(new TaskCreated(9, 9, 0, true)));
        Assert.Equal(new CpuBooted(255), RoundTrip(new CpuBooted(255)));
        Assert.Equal(new TaskEnqueued(3, 99_999), RoundTrip(new TaskEnqueued(3, 99_999)));
        Assert.Equal(new SchedSwitched(1, KernelIds.IdleTask(255), 5, PrevState.Sleeping, 7), RoundTrip(new SchedSwitched(1, KernelIds.IdleTask(255), 5, PrevState.Sleeping, 7)));
        Assert.Equal(new LazyTlbEntered(2, int.MaxValue), RoundTrip(new LazyTlbEntered(2, int.MaxValue)));
        foreach (bool cr3 in new[] { false, true })
        {
            foreach (bool lazy in new[] { false, true })
            {
                Assert.Equal(new MmSwitched(4, 1, 2, cr3, lazy, long.MaxValue), RoundTrip(new MmSwitched(4, 1, 2, cr3, lazy, long.MaxValue)));
            }
        }
        Assert.Equal(new MmCreated(12, 40, 0xFF), RoundTrip(new MmCreated(12, 40, 0xFF)));
        Assert.Equal(new MembarrierSampled(3, new CpuMask(1, 0, 0, 1UL << 63)), RoundTrip(new MembarrierSampled(3, new CpuMask(1, 0, 0, 1UL << 63))));
        Assert.Equal(new MembarrierSampled(3, CpuMask.Empty), RoundTrip(new MembarrierSampled(3, CpuMask.Empty)));
        Assert.Equal(new MembarrierExited(0, 9, -22), RoundTrip(new MembarrierExited(0, 9, -22)));
        Assert.Equal(new IpiSent(long.MaxValue, 1, 2, IpiKind.FlushTlb, 5, 77), RoundTrip(new IpiSent(long.MaxValue, 1, 2, IpiKind.FlushTlb, 5, 77)));
        foreach (BarrierReason r in Enum.GetValues<BarrierReason>()) Assert.Equal(new FullBarrier(2, r), RoundTrip(new FullBarrier(2, r)));
        foreach (CoreSerializeReason r in Enum.GetValues<CoreSerializeReason>()) Assert.Equal(new CoreSerialized(2, r), RoundTrip(new CoreSerialized(2, r)));
        foreach (ReturnPath p in Enum.GetValues<ReturnPath>()) Assert.Equal(new ReturnedToUser(2, 1, p), RoundTrip(new ReturnedToUser(2, 1, p)));
        Assert.Equal(new MmCpumaskSet(12, 255), RoundTrip(new MmCpumaskSet(12, 255)));
    }

    [Fact]
    public void manifests_are_unique_and_cover_the_catalog()
    {
        Assert.Equal(EventCatalog.All.Count, EventCatalog.All.Select(m => m.Code).Distinct().Count());
        Assert.All(EventCatalog.All, m => Assert.InRange(m.Version, 1, EventManifest.MaxVersion));
        var eventTypes = typeof(EventCatalog).Assembly.GetTypes()
            .Where(t => t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IJournaledEvent<>)));
        Assert.Equal(eventTypes.Select(t => t.Name).Order(), EventCatalog.All.Select(m => m.Name).Order());
    }

    [Fact]
    public void events_are_immutable_record_structs()
    {
        var eventTypes = typeof(EventCatalog).Assembly.GetTypes()
            .Where(t => t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IJournaledEvent<>)));
        Assert.All(eventTypes, t =>
        {
            Assert.True(t.IsValueType && t.IsSealed, $"{t.Name} is a sealed value type");
            Assert.True(t.GetCustomAttributes(typeof(System.Runtime.CompilerServices.IsReadOnlyAttribute), false).Length > 0, $"{t.Name} is readonly");
            Assert.NotNull(t.GetMethod("PrintMembers", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance));
        });
    }

    [Fact]
    public void a_corrupt_flag_byte_is_refused()
    {
        byte[] barrier = [0, 200];
        Assert.Throws<CorruptPayloadException>(() =>
        {
            var r = new PayloadReader(barrier);
            FullBarrier.Read(ref r);
        });
        byte[] state = [0, 1, 2, 7, 0];
        Assert.Throws<CorruptPayloadException>(() =>
        {
            var r = new PayloadReader(state);
            SchedSwitched.Read(ref r);
        });
    }
}
