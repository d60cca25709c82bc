namespace Twin.Actors.Persistence;

/// <summary>Offered to a recovering actor before its events, when a snapshot exists (Akka's SnapshotOffer).</summary>
public sealed record SnapshotOffer(long SequenceNr, long TimestampNs, ulong StateHash, byte[] Snapshot);

/// <summary>Sent once at the end of every recovery, also for a new persistence id.</summary>
public sealed record RecoveryCompleted(long LastSequenceNr)
{
    public override string ToString() => $"RecoveryCompleted<lastSequenceNr: {LastSequenceNr}>";
}
