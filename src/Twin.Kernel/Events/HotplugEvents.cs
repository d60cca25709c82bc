using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// CPU hotplug (fault injection, docs/faults.md). cpu stream: code 57.

/// <summary>
/// CPU <paramref name="Cpu"/> went offline (it runs its idle task with init_mm loaded and takes no
/// work; its runqueue then migrates its queued tasks, <see cref="RqTasksMigrated"/>) or came back
/// online (booted again: core serialized, idle).
/// </summary>
[JournaledEvent(57, 1)]
public readonly partial record struct CpuHotplugged(int Cpu, bool Online);
