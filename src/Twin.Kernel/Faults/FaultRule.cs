using Twin.Kernel.Events;

namespace Twin.Kernel.Faults;

/// <summary>What a fault does (journaled in <see cref="FaultInjected"/>).</summary>
public enum FaultKind : byte
{
    /// <summary>An IPI's interrupt is lost; the waiting sender re-sends it after its csd-lock wait times out.</summary>
    IpiDrop = 1,
    /// <summary>An IPI arrives later than its drawn latency (also: ipi-jitter).</summary>
    IpiDelay = 2,
    /// <summary>An IPI's interrupt is raised twice; the second finds the csd queue empty (a spurious interrupt).</summary>
    IpiDuplicate = 3,
    /// <summary>One interrupt of a storm of spurious interrupts on a CPU.</summary>
    IrqStorm = 4,
    /// <summary>A named full barrier is left out.</summary>
    SkipBarrier = 5,
    /// <summary>A named core-serializing event is left out.</summary>
    SkipSerialize = 6,
    /// <summary>One NMI of a storm of NMIs on a CPU (their handler runs patchable text; needs <c>textPoke</c>).</summary>
    NmiStorm = 7,
    /// <summary>A CPU goes offline (at a time, or when a membarrier or TLB shootdown starts elsewhere) and comes back online later.</summary>
    Hotplug = 8,
}

/// <summary>What starts a hotplug fault that has a trigger instead of a time.</summary>
public enum HotplugTrigger : byte
{
    None,
    /// <summary>A membarrier() call enters on another CPU.</summary>
    Membarrier,
    /// <summary>A flush_tlb_mm_range() shootdown starts on another CPU.</summary>
    Shootdown,
}

/// <summary>
/// One fault of a run's fault plan, as parsed from its spec (<c>ipi-drop:ipi=mb,cpu=2,p=0.1</c>,
/// see docs/faults.md). Whether it fires is drawn from the run's fault stream, so the same seed and
/// plan give the same faults. <see cref="Buggify"/> &gt; 0 makes it a BUGGIFY point, as in
/// FoundationDB: at its first reach in a run it is switched on with that probability, and only
/// then fires (with <see cref="Probability"/>) on each reach.
/// </summary>
public sealed record FaultRule(FaultKind Kind, string Spec)
{
    /// <summary>IPI faults: the kind of IPI, or null for any.</summary>
    public IpiKind? Ipi { get; init; }

    /// <summary>The target CPU (IPI faults), the CPU of a storm or of a skipped event; -1 for any.</summary>
    public int Cpu { get; init; } = -1;

    public double Probability { get; init; } = 1;

    /// <summary>Fires at most once per run.</summary>
    public bool Once { get; init; }

    public double Buggify { get; init; }

    /// <summary>Delay range: extra latency (delay), re-send timeout (drop), second arrival after the first (duplicate), gap between storm interrupts.</summary>
    public long NsMin { get; init; }

    public long NsMax { get; init; }

    /// <summary>Storm: when it starts (virtual ns) and how many interrupts it has.</summary>
    public long AtNs { get; init; }

    public int Count { get; init; }

    /// <summary>Hotplug: what takes the CPU offline (or <see cref="HotplugTrigger.None"/>: <see cref="AtNs"/>), and for how long (<see cref="NsMin"/>..<see cref="NsMax"/>).</summary>
    public HotplugTrigger On { get; init; }

    /// <summary>Skip faults: the <see cref="BarrierReason"/> or <see cref="CoreSerializeReason"/> left out, as its number (as <see cref="FaultInjected.What"/> journals it).</summary>
    public int Reason { get; init; }

    /// <summary>Skip faults: the one site left out (<c>site=</c>); <see cref="Sites.OrderingSite.None"/>: every site of <see cref="Reason"/>.</summary>
    public Sites.OrderingSite Site { get; init; }
}
