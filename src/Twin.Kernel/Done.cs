using Twin.Actors.Runtime;

namespace Twin.Kernel;

/// <summary>
/// The owner of some kernel memory applied a write the sender asked for (a store, an atomic, a
/// lock acquired): the sender, stalled since, may go on. <paramref name="Value"/> is the result
/// where the kernel uses one (inc_mm_tlb_gen's new generation, a cmpxchg's outcome, a new pid).
/// </summary>
public readonly record struct Done(long Token, long Value = 0) : ISimulationMessage;
