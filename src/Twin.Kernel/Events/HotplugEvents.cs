using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// CPU hotplug (fault injection, docs/faults.md). cpu stream: code 57.

/// <summary>
/// CPU <paramref name="Cpu"/> went offline (its runqueue emptied: the tasks were migrated to
/// online CPUs; it runs its idle task with init_mm loaded and takes no work) or came back online
/// (booted again: core serialized, idle).
/// </summary>
[JournaledEvent(57, 1)]
public readonly partial record struct CpuHotplugged(int Cpu, bool Online);
