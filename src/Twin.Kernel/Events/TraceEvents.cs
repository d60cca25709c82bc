using Twin.Persistence.Codec;
using static Twin.Kernel.Events.EventEnums;

namespace Twin.Kernel.Events;

// Events only a real trace has: what a line showed that a simulation never needs to say, and where
// the trace does not show what happened. Emitted by Twin.Traces' reconstruction of a trace into
// the model's events, never by the kernel model. Codes 90–99.
// Layout: each field in order, ints and longs as zigzag varints, enums as a byte.

/// <summary>Where a trace line was logged, from its irq-info flags (trace_print_lat_fmt's third character).</summary>
public enum ExecContext : byte
{
    /// <summary>The layout has no flags column (trace-cmd report, perf script).</summary>
    Unknown = 0,
    Task = 1,
    Softirq = 2,
    Hardirq = 3,
    Nmi = 4,
}

/// <summary>What a trace does not show.</summary>
public enum UnknownScope : byte
{
    /// <summary>Events of the CPU were lost (<c>CPU:n [LOST m EVENTS]</c>): what it did just before is unknown.</summary>
    Cpu = 1,
    /// <summary>The mm existed before the trace began: its earlier membarrier registrations are unknown.</summary>
    Mm = 2,
}

/// <summary>A line of a real trace on <paramref name="Cpu"/>, whose <c>rq->curr</c> was <paramref
/// name="Task"/> (during a switch's tail the line is logged by prev, but rq->curr is already next),
/// in <paramref name="Context"/>, with IRQs off or on as its flags say.</summary>
public readonly record struct ContextSeen(int Cpu, int Task, ExecContext Context, bool IrqsOff) : IJournaledEvent<ContextSeen>
{
    public static EventManifest Manifest { get; } = new(90, 1, nameof(ContextSeen));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteByte((byte)Context);
        w.WriteBool(IrqsOff);
    }

    public static ContextSeen Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var context_ = ReadEnum<ExecContext>(ref r, (byte)ExecContext.Nmi, "Context");
        var irqsOff_ = r.ReadBool();
        return new(cpu_, task_, context_, irqsOff_);
    }
}

/// <summary>The trace does not show what happened to <paramref name="Id"/> (a CPU or an mm) before
/// this point: a decision that needs it is undecidable, never a violation.</summary>
public readonly record struct StateUnknown(UnknownScope Scope, int Id) : IJournaledEvent<StateUnknown>
{
    public static EventManifest Manifest { get; } = new(91, 1, nameof(StateUnknown));

    public void Write(ref PayloadWriter w)
    {
        w.WriteByte((byte)Scope);
        w.WriteVarInt(Id);
    }

    public static StateUnknown Read(ref PayloadReader r)
    {
        var scope_ = ReadEnum<UnknownScope>(ref r, (byte)UnknownScope.Mm, "Scope");
        var id_ = r.ReadInt32();
        return new(scope_, id_);
    }
}
