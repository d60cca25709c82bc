using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// Events of "ipi-N" streams: one in-flight IPI (a csd) at a time. Codes 60–69.

/// <summary>An IPI was sent (a csd queued and the interrupt raised). <paramref name="Mm"/> and
/// <paramref name="TlbGen"/> are the handler's argument where it has one.</summary>
[JournaledEvent(60, 1)]
public readonly partial record struct IpiSent(long Ipi, int From, int To, IpiKind Kind, int Mm, long TlbGen);

/// <summary>The IPI's handler finished on its target and the sender was acknowledged (csd
/// unlocked).</summary>
[JournaledEvent(61, 1)]
public readonly partial record struct IpiCompleted(long Ipi);
