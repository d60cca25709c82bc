using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// Events of "rq-N" streams besides TaskEnqueued, SchedSwitched and RqMembarrierStateSet (declared
// with the CPU events they were before the runqueue became an actor). Codes 80–89.

/// <summary>finish_task_switch() took <c>rq->prev_mm</c> (<paramref name="Mm"/>) and cleared it; mmdrop_lazy_tlb follows.</summary>
[JournaledEvent(80, 1)]
public readonly partial record struct RqPrevMmCleared(int Cpu, int Mm);

/// <summary>migrate_tasks(): the CPU went offline and its <paramref name="Tasks"/> queued tasks moved to online CPUs.</summary>
[JournaledEvent(81, 1)]
public readonly partial record struct RqTasksMigrated(int Cpu, int Tasks);
