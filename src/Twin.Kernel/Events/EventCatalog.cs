using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

/// <summary>Every kernel event type, for the journal's manifests table and the codec tests.</summary>
public static class EventCatalog
{
    public static IReadOnlyList<EventManifest> All { get; } =
    [
        TaskCreated.Manifest,
        TaskMmChanged.Manifest,
        TaskExited.Manifest,
        CpuBooted.Manifest,
        TaskEnqueued.Manifest,
        SchedSwitched.Manifest,
        LazyTlbEntered.Manifest,
        MmSwitched.Manifest,
        MmSwitchBegan.Manifest,
        TlbFlushed.Manifest,
        KernelEntered.Manifest,
        ReturnedToUser.Manifest,
        FullBarrier.Manifest,
        CoreSerialized.Manifest,
        RqMembarrierStateSet.Manifest,
        IpiHandled.Manifest,
        CodeWritten.Manifest,
        RseqAborted.Manifest,
        RseqCsEntered.Manifest,
        RseqCsCommitted.Manifest,
        TlbShootdownStarted.Manifest,
        TlbShootdownFinished.Manifest,
        MembarrierEntered.Manifest,
        MembarrierSampled.Manifest,
        MembarrierExited.Manifest,
        KthreadWorkBegan.Manifest,
        KthreadWorkEnded.Manifest,
        MmCreated.Manifest,
        MmLamEnabled.Manifest,
        MmLamLocked.Manifest,
        CpuLamLoaded.Manifest,
        ArchPrctlReturned.Manifest,
        UntaggedAddr.Manifest,
        MmCpumaskSet.Manifest,
        MmCpumaskCleared.Manifest,
        TlbGenIncremented.Manifest,
        MembarrierStateChanged.Manifest,
        MmUsersChanged.Manifest,
        IcacheStaleMaskSet.Manifest,
        IcacheStaleCleared.Manifest,
        IpiSent.Manifest,
        IpiCompleted.Manifest,
        UserStored.Manifest,
        UserLoaded.Manifest,
        FaultInjected.Manifest,
        TextPokeStepped.Manifest,
        TextFetched.Manifest,
        Int3Handled.Manifest,
        CtWork.Manifest,
        CpuHotplugged.Manifest,
        ContextSeen.Manifest,
        StateUnknown.Manifest,
    ];
}

/// <summary>Decoding helpers shared by the event records.</summary>
internal static class EventEnums
{
    public static T ReadEnum<T>(ref PayloadReader r, byte max, string field) where T : struct, Enum
    {
        byte b = r.ReadByte();
        if (b > max) throw new CorruptPayloadException($"{field} = {b} is not a {typeof(T).Name}");
        return (T)(object)b;
    }
}
