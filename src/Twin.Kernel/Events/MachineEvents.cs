using Twin.Persistence.Codec;
using static Twin.Kernel.Events.EventEnums;

namespace Twin.Kernel.Events;

// Events of the "machine" stream: the task table. Codes 1–9.
// Layout: each field in order, ints and longs as zigzag varints, enums as a byte.

/// <summary>A task was created: a user thread of process <paramref name="Tgid"/> on <paramref
/// name="Mm"/>, or a kernel thread (mm 0).</summary>
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

    public static TaskCreated Read(ref PayloadReader r)
    {
        var task_ = r.ReadInt32();
        var tgid_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        var kthread_ = r.ReadBool();
        return new(task_, tgid_, mm_, kthread_);
    }
}

/// <summary><c>task->mm</c> changed: exec, exit_mm, kthread_use_mm, kthread_unuse_mm.</summary>
public readonly record struct TaskMmChanged(int Task, int Mm, MmChangeReason Reason) : IJournaledEvent<TaskMmChanged>
{
    public static EventManifest Manifest { get; } = new(2, 1, nameof(TaskMmChanged));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Task);
        w.WriteVarInt(Mm);
        w.WriteByte((byte)Reason);
    }

    public static TaskMmChanged Read(ref PayloadReader r)
    {
        var task_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        var reason_ = ReadEnum<MmChangeReason>(ref r, (byte)MmChangeReason.KthreadUnuseMm, "Reason");
        return new(task_, mm_, reason_);
    }
}

/// <summary>The task is dead (do_task_dead).</summary>
public readonly record struct TaskExited(int Task) : IJournaledEvent<TaskExited>
{
    public static EventManifest Manifest { get; } = new(3, 1, nameof(TaskExited));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Task);
    }

    public static TaskExited Read(ref PayloadReader r) => new(r.ReadInt32());
}
