using Twin.Kernel.Faults;
using Twin.Persistence.Codec;
using static Twin.Kernel.Events.EventEnums;

namespace Twin.Kernel.Events;

// Events of "cpu-N" streams written by fault injection. Code 38.

/// <summary>
/// A fault of the run's plan fired on CPU <paramref name="Cpu"/>. <paramref name="Target"/> is the
/// IPI's target CPU (IPI faults) or the CPU itself; <paramref name="What"/> the IPI kind, barrier
/// reason or core-serialize reason as a number; <paramref name="Ns"/> the drawn delay, when there is one.
/// </summary>
public readonly record struct FaultInjected(int Cpu, FaultKind Kind, int Target, int What, long Ns) : IJournaledEvent<FaultInjected>
{
    public static EventManifest Manifest { get; } = new(38, 1, nameof(FaultInjected));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteByte((byte)Kind);
        w.WriteVarInt(Target);
        w.WriteVarInt(What);
        w.WriteVarInt(Ns);
    }

    public static FaultInjected Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var kind_ = ReadEnum<FaultKind>(ref r, (byte)FaultKind.Hotplug, "Kind");
        var target_ = r.ReadInt32();
        var what_ = r.ReadInt32();
        var ns_ = r.ReadVarInt();
        return new(cpu_, kind_, target_, what_, ns_);
    }
}
