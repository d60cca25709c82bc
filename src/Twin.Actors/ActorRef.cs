using Twin.Actors.Dispatch;

namespace Twin.Actors;

/// <summary>
/// Handle to an actor (Akka's IActorRef). <see cref="Tell{T}"/> enqueues the message for delivery at
/// the current virtual instant; small unmanaged messages are copied inline without allocation.
/// </summary>
public sealed class ActorRef
{
    internal ActorRef(ActorSystem? system, int id, string path)
    {
        System = system;
        Id = id;
        Path = path;
    }

    /// <summary>The sender of messages sent from outside any actor (Akka's ActorRefs.NoSender).</summary>
    public static ActorRef NoSender { get; } = new(null, -1, "/deadLetters");

    internal ActorSystem? System { get; }

    internal int Id { get; }

    public string Path { get; }

    public void Tell<T>(T message, ActorRef? sender = null) where T : notnull
    {
        if (System is null)
        {
            return; // NoSender swallows replies, as Akka's dead letters do.
        }
        System.Enqueue(Id, Envelope.Create(message, sender?.Id ?? -1));
    }

    public override string ToString() => Path;
}
