using System.Runtime.CompilerServices;

namespace Twin.Actors.Dispatch;

/// <summary>32 bytes of inline storage for small unmanaged messages.</summary>
[InlineArray(4)]
internal struct InlinePayload
{
    private long _element;
}

/// <summary>
/// A message in a mailbox or timer. Small unmanaged messages (record structs of ids and numbers)
/// are stored inline, so sending them allocates nothing; reference-type messages travel by
/// reference as in Akka.
/// </summary>
internal struct Envelope
{
    public int TypeId;
    public int SenderId;
    public object? Reference;
    public InlinePayload Inline;

    public static Envelope Create<T>(T message, int senderId) where T : notnull
    {
        var e = new Envelope { TypeId = MessageType<T>.Id, SenderId = senderId };
        if (MessageType<T>.IsInline)
        {
            Unsafe.As<InlinePayload, T>(ref e.Inline) = message;
        }
        else
        {
            e.Reference = message;
        }
        return e;
    }

    public readonly T Read<T>() where T : notnull
    {
        if (MessageType<T>.IsInline)
        {
            InlinePayload copy = Inline;
            return Unsafe.As<InlinePayload, T>(ref copy);
        }
        return (T)Reference!;
    }

    /// <summary>The message as an object, for the (rare) unhandled and dead-letter paths.</summary>
    public readonly object Box() => MessageType.Boxers[TypeId](this);
}

/// <summary>Process-wide message type ids, used only to index dispatch tables (never persisted).</summary>
internal static class MessageType
{
    private static int s_next;
    internal static Func<Envelope, object>[] Boxers = new Func<Envelope, object>[64];
    private static readonly object s_gate = new();

    internal static int Register<T>() where T : notnull
    {
        lock (s_gate)
        {
            int id = s_next++;
            if (id >= Boxers.Length) Array.Resize(ref Boxers, Boxers.Length * 2);
            Boxers[id] = static e => e.Read<T>();
            return id;
        }
    }
}

internal static class MessageType<T> where T : notnull
{
    public static readonly int Id = MessageType.Register<T>();

    public static readonly bool IsInline =
        !RuntimeHelpers.IsReferenceOrContainsReferences<T>() && Unsafe.SizeOf<T>() <= Unsafe.SizeOf<InlinePayload>();
}
