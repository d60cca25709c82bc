using Twin.Persistence.Codec;

namespace Twin.Kernel.Events;

// Events of the "machine" stream: the task table. Codes 1–9.

/// <summary>A task was created: a user thread of process <paramref name="Tgid"/> on <paramref name="Mm"/>, or a kernel thread (mm 0).</summary>
public readonly record struct TaskCreated(int Task, int Tgid, int Mm, bool Kthread) : IJournaledEvent<TaskCreated>
{
    public static EventManifest Manifest { get; } = new(1, 1, nameof(TaskCreated));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Task);
        w.WriteVarInt(Tgid);
        w.WriteVarInt(Mm);
        w.WriteBool(Kthread);
    }

    public static TaskCreated Read(ref PayloadReader r) => new(r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadBool());
}
