using Akka.Actor;
using Akka.Persistence;

namespace Twin.Persistence.Sql;

/// <summary>
/// An event on its way to the plugin with its virtual time as Akka's timestamp (the row's
/// <c>created</c>). Akka's own <see cref="Persistent"/> drops the timestamp when the plugin
/// unwraps a tagged payload (<c>WithPayload</c>), and the plugin then writes wall-clock ticks;
/// this one keeps it through every copy.
/// </summary>
internal sealed class TimedRepresentation(object payload, long sequenceNr, string persistenceId, string writerGuid, long timestamp) : IPersistentRepresentation
{
    public object Payload { get; } = payload;

    public long SequenceNr { get; } = sequenceNr;

    public string PersistenceId { get; } = persistenceId;

    public string WriterGuid { get; } = writerGuid;

    public long Timestamp { get; } = timestamp;

    public string Manifest => string.Empty;

    public bool IsDeleted => false;

    public IActorRef Sender => ActorRefs.NoSender!;

    public IPersistentRepresentation WithPayload(object payload) => new TimedRepresentation(payload, SequenceNr, PersistenceId, WriterGuid, Timestamp);

    public IPersistentRepresentation WithTimestamp(long newTimestamp) => new TimedRepresentation(Payload, SequenceNr, PersistenceId, WriterGuid, newTimestamp);

    /// <summary>Twin's rows carry no event-adapter manifest; one given here is kept, with the timestamp.</summary>
    public IPersistentRepresentation WithManifest(string manifest) =>
        new Persistent(Payload, SequenceNr, PersistenceId, manifest, IsDeleted, Sender, WriterGuid, Timestamp);

    public IPersistentRepresentation Update(long sequenceNr, string persistenceId, bool isDeleted, IActorRef sender, string writerGuid) =>
        new Persistent(Payload, sequenceNr, persistenceId, Manifest, isDeleted, sender, writerGuid, Timestamp);
}
