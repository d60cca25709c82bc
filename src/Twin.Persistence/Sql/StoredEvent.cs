using Twin.Persistence.Codec;

namespace Twin.Persistence.Sql;

/// <summary>
/// One Twin event as Akka.Persistence.Sql stores it in the <c>message</c> column: the compact
/// codec's bytes followed by the two-byte row check over (manifest, sequence number, payload).
/// Writing, it carries bytes the run's writer already sealed; reading through
/// Akka.Persistence.Query, it is what <c>EventEnvelope.Event</c> holds, and
/// <see cref="Decode"/> turns it into the event record once the envelope's sequence number
/// has verified the check.
/// </summary>
public sealed class StoredEvent(int manifest, byte[] message)
{
    /// <summary>The event's code and payload version (<see cref="EventManifest"/>): the row's <c>manifest</c> column.</summary>
    public int Manifest { get; } = manifest;

    /// <summary>Payload and row check, as stored.</summary>
    public byte[] Message { get; } = message;

    /// <summary>The event record (a <see cref="IJournaledEvent"/>).</summary>
    /// <exception cref="CorruptPayloadException">the row check fails for this sequence number, or the payload does not decode.</exception>
    public object Decode(long sequenceNr) => EventCodecs.Decode(Manifest, RowCheck.Open(Message, Manifest, sequenceNr));
}
