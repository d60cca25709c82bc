using Twin.Persistence.Codec;
using static Twin.Kernel.Events.EventEnums;

namespace Twin.Kernel.Events;

// Events of "ipi-N" streams: one in-flight IPI (a csd) at a time. Codes 60–69.
// Layout: each field in order, ints and longs as zigzag varints, enums as a byte.

/// <summary>An IPI was sent (a csd queued and the interrupt raised). <paramref name="Mm"/> and
/// <paramref name="TlbGen"/> are the handler's argument where it has one.</summary>
public readonly record struct IpiSent(long Ipi, int From, int To, IpiKind Kind, int Mm, long TlbGen) : IJournaledEvent<IpiSent>
{
    public static EventManifest Manifest { get; } = new(60, 1, nameof(IpiSent));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Ipi);
        w.WriteVarInt(From);
        w.WriteVarInt(To);
        w.WriteByte((byte)Kind);
        w.WriteVarInt(Mm);
        w.WriteVarInt(TlbGen);
    }

    public static IpiSent Read(ref PayloadReader r)
    {
        var ipi_ = r.ReadVarInt();
        var from_ = r.ReadInt32();
        var to_ = r.ReadInt32();
        var kind_ = ReadEnum<IpiKind>(ref r, (byte)IpiKind.TextPokeSync, "Kind");
        var mm_ = r.ReadInt32();
        var tlbGen_ = r.ReadVarInt();
        return new(ipi_, from_, to_, kind_, mm_, tlbGen_);
    }
}

/// <summary>The IPI's handler finished on its target and the sender was acknowledged (csd
/// unlocked).</summary>
public readonly record struct IpiCompleted(long Ipi) : IJournaledEvent<IpiCompleted>
{
    public static EventManifest Manifest { get; } = new(61, 1, nameof(IpiCompleted));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Ipi);
    }

    public static IpiCompleted Read(ref PayloadReader r) => new(r.ReadVarInt());
}
