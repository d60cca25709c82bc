using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// Events of the "cpu-N" streams: runqueue and x86 cpu_tlbstate. Codes 10–29.
// Each carries its CPU so a reader of the merged stream (checkers, exports) needs no lookup.

/// <summary>The CPU came online running its idle task, with <c>init_mm</c> loaded.</summary>
public readonly record struct CpuBooted(int Cpu) : IJournaledEvent<CpuBooted>
{
    public static EventManifest Manifest { get; } = new(10, 1, nameof(CpuBooted));

    public void Write(ref PayloadWriter w) => w.WriteVarInt(Cpu);

    public static CpuBooted Read(ref PayloadReader r) => new(r.ReadInt32());
}

/// <summary>A woken or new task was put on this CPU's runqueue (<c>activate_task</c>).</summary>
public readonly record struct TaskEnqueued(int Cpu, int Task) : IJournaledEvent<TaskEnqueued>
{
    public static EventManifest Manifest { get; } = new(11, 1, nameof(TaskEnqueued));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
    }

    public static TaskEnqueued Read(ref PayloadReader r) => new(r.ReadInt32(), r.ReadInt32());
}

/// <summary>
/// <c>__schedule()</c> stored <c>rq->curr = next</c> (the <c>sched_switch</c> tracepoint). What
/// happens to the address space follows as <see cref="LazyTlbEntered"/> or <see cref="MmSwitched"/>.
/// </summary>
public readonly record struct SchedSwitched(int Cpu, int Prev, int Next, PrevState PrevState) : IJournaledEvent<SchedSwitched>
{
    public static EventManifest Manifest { get; } = new(12, 1, nameof(SchedSwitched));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Prev);
        w.WriteVarInt(Next);
        w.WriteByte((byte)PrevState);
    }

    public static SchedSwitched Read(ref PayloadReader r)
    {
        int cpu = r.ReadInt32(), prev = r.ReadInt32(), next = r.ReadInt32();
        byte state = r.ReadByte();
        if (state > (byte)PrevState.Sleeping) throw new CorruptPayloadException($"prev_state {state}");
        return new(cpu, prev, next, (PrevState)state);
    }
}

/// <summary>
/// <c>enter_lazy_tlb(active_mm)</c> on a switch to a kernel thread: the kthread borrows
/// <paramref name="Mm"/> (the outgoing task's <c>active_mm</c>); the page tables stay loaded and
/// <c>cpu_tlbstate_shared.is_lazy</c> is set unless <c>init_mm</c> is loaded (kernel-model §2.1, §2.3).
/// </summary>
public readonly record struct LazyTlbEntered(int Cpu, int Mm) : IJournaledEvent<LazyTlbEntered>
{
    public static EventManifest Manifest { get; } = new(13, 1, nameof(LazyTlbEntered));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Mm);
    }

    public static LazyTlbEntered Read(ref PayloadReader r) => new(r.ReadInt32(), r.ReadInt32());
}

/// <summary>
/// <c>switch_mm_irqs_off(prev, next)</c> changed this CPU's <c>loaded_mm</c> or left lazy mode
/// (kernel-model §2.2). <paramref name="Cr3Written"/> is false on the same-mm unlazy path that
/// returns with <c>tlb_gen</c> current: no CR3 write, so no core serialization from it.
/// </summary>
public readonly record struct MmSwitched(int Cpu, int Prev, int Next, bool Cr3Written, bool WasLazy) : IJournaledEvent<MmSwitched>
{
    public static EventManifest Manifest { get; } = new(14, 1, nameof(MmSwitched));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Prev);
        w.WriteVarInt(Next);
        w.WriteByte((byte)((Cr3Written ? 1 : 0) | (WasLazy ? 2 : 0)));
    }

    public static MmSwitched Read(ref PayloadReader r)
    {
        int cpu = r.ReadInt32(), prev = r.ReadInt32(), next = r.ReadInt32();
        byte flags = r.ReadByte();
        if (flags > 3) throw new CorruptPayloadException($"MmSwitched flags {flags}");
        return new(cpu, prev, next, (flags & 1) != 0, (flags & 2) != 0);
    }
}
