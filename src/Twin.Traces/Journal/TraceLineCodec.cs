using Twin.Persistence.Codec;
using Twin.Traces.Ftrace;

namespace Twin.Traces.Journal;

/// <summary>
/// A parsed trace line as a journal row (manifest code 80): every field of <see cref="TraceRecord"/>
/// but the time, which is the row's <c>timestamp</c>. Varints keep a row near 25 bytes. Version 2
/// added the irq-info context and the csd address at the end; version 1 rows read with neither.
/// </summary>
public static class TraceLineCodec
{
    public static EventManifest Manifest { get; } = new(80, 3, "TraceLine");

    /// <summary>The second layout, still read from journals it wrote.</summary>
    public static EventManifest ManifestV2 { get; } = new(80, 2, "TraceLine");

    /// <summary>The first layout, still read from journals it wrote.</summary>
    public static EventManifest ManifestV1 { get; } = new(80, 1, "TraceLine");

    public static void Write(ref PayloadWriter w, in TraceRecord r)
    {
        w.WriteVarInt(r.Line);
        w.WriteVarInt(r.Pid);
        w.WriteVarInt(r.Tgid);
        w.WriteVarInt(r.Cpu);
        w.WriteByte((byte)r.Kind);
        w.WriteVarInt(r.Task);
        w.WriteVarInt(r.Other);
        w.WriteVarInt(r.PrevState);
        w.WriteVarInt(r.TargetCpu);
        w.WriteVarUInt(r.Mask);
        w.WriteBool(r.MaskWide);
        w.WriteByte((byte)r.Func);
        w.WriteVarInt(r.Vector);
        w.WriteVarInt(r.Cmd);
        w.WriteVarInt(r.Flags);
        w.WriteVarInt(r.CpuId);
        w.WriteVarInt(r.Ret);
        w.WriteVarInt(r.Pages);
        w.WriteVarInt(r.Reason);
        w.WriteByte((byte)r.Context);
        w.WriteBool(r.IrqsOff);
        w.WriteVarUInt(r.Csd);
        w.WriteBool(r.Stopper);
    }

    /// <exception cref="CorruptPayloadException">the row is not a trace line this build wrote.</exception>
    public static void Read(ReadOnlySpan<byte> payload, long timeNs, byte version, ref TraceRecord r)
    {
        var p = new PayloadReader(payload);
        r.Line = p.ReadVarInt();
        r.Pid = p.ReadInt32();
        r.Tgid = p.ReadInt32();
        r.Cpu = p.ReadInt32();
        byte kind = p.ReadByte();
        if (kind > (byte)TraceEventKind.Lost) throw new CorruptPayloadException($"trace event kind {kind} is unknown");
        r.Kind = (TraceEventKind)kind;
        r.Task = p.ReadInt32();
        r.Other = p.ReadInt32();
        r.PrevState = p.ReadInt32();
        r.TargetCpu = p.ReadInt32();
        r.Mask = p.ReadVarUInt();
        r.MaskWide = p.ReadBool();
        r.Func = (CsdFunc)p.ReadByte();
        r.Vector = p.ReadInt32();
        r.Cmd = p.ReadInt32();
        r.Flags = p.ReadInt32();
        r.CpuId = p.ReadInt32();
        r.Ret = p.ReadVarInt();
        r.Pages = p.ReadVarInt();
        r.Reason = p.ReadInt32();
        r.TimeNs = timeNs;
        if (version < 2)
        {
            r.Context = TraceContext.Unknown;
            r.IrqsOff = false;
            r.Csd = 0;
            r.Stopper = false;
            return;
        }
        byte context = p.ReadByte();
        if (context > (byte)TraceContext.Nmi) throw new CorruptPayloadException($"trace context {context} is unknown");
        r.Context = (TraceContext)context;
        r.IrqsOff = p.ReadBool();
        r.Csd = p.ReadVarUInt();
        r.Stopper = version >= 3 && p.ReadBool();
    }
}
