using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// CPU hotplug (fault injection, docs/faults.md). cpu stream: code 57.

/// <summary>
/// CPU <paramref name="Cpu"/> went offline (its runqueue emptied: the tasks were migrated to
/// online CPUs; it runs its idle task with init_mm loaded and takes no work) or came back online
/// (booted again: core serialized, idle).
/// </summary>
public readonly record struct CpuHotplugged(int Cpu, bool Online) : IJournaledEvent<CpuHotplugged>
{
    public static EventManifest Manifest { get; } = new(57, 1, nameof(CpuHotplugged));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteByte(Online ? (byte)1 : (byte)0);
    }

    public static CpuHotplugged Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        byte online_ = r.ReadByte();
        if (online_ > 1) throw new CorruptPayloadException($"Online = {online_} is not 0 or 1");
        return new(cpu_, online_ == 1);
    }
}
