using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

/// <summary>Every kernel event type, for the journal's manifests table and the codec tests.</summary>
public static class EventCatalog
{
    public static IReadOnlyList<EventManifest> All { get; } =
    [
        TaskCreated.Manifest,
        CpuBooted.Manifest,
        TaskEnqueued.Manifest,
        SchedSwitched.Manifest,
        LazyTlbEntered.Manifest,
        MmSwitched.Manifest,
        MmCreated.Manifest,
        MmCpumaskSet.Manifest,
    ];
}
