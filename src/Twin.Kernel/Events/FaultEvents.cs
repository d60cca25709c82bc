using Twin.Kernel.Faults;
using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// Events of "cpu-N" streams written by fault injection. Code 38.

/// <summary>
/// A fault of the run's plan fired on CPU <paramref name="Cpu"/>. <paramref name="Target"/> is the
/// IPI's target CPU (IPI faults) or the CPU itself; <paramref name="What"/> the IPI kind, barrier
/// reason or core-serialize reason as a number; <paramref name="Ns"/> the drawn delay, when there is one.
/// </summary>
[JournaledEvent(38, 1)]
public readonly partial record struct FaultInjected(int Cpu, FaultKind Kind, int Target, int What, long Ns);
