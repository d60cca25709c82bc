using Twin.Persistence;

namespace Twin.Actors.Persistence;

/// <summary>Outcome of a whole-run replay.</summary>
/// <param name="Events">Events applied.</param>
/// <param name="CheckpointsVerified">Checkpoints whose recorded state hash matched the rebuilt state.</param>
/// <param name="StateHash">State hash after the last event.</param>
/// <param name="LastTimestampNs">Virtual time of the last event.</param>
public sealed record ReplayResult(long Events, int CheckpointsVerified, ulong StateHash, long LastTimestampNs);

/// <summary>The state rebuilt from the journal differs from the state the run recorded.</summary>
public sealed class StateHashMismatchException(string message, long eventCount) : Exception(message)
{
    /// <summary>Events applied when the mismatch showed.</summary>
    public long EventCount { get; } = eventCount;
}

/// <summary>
/// Rebuilds every persistent actor of a run from its journal, in the run's global event order,
/// through the actors' own Recover handlers, and verifies the state hash at each checkpoint.
/// Actors are created (not started: no timers, no behaviour) when their stream's first event
/// arrives, from the Props the caller maps the stream name to.
/// </summary>
public static class RunReplayer
{
    /// <param name="propsForStream">Props of the actor owning a run-relative stream, or null if the stream is unknown.</param>
    /// <param name="onProgress">Called every 65 536 events with the count so far.</param>
    /// <exception cref="JournalException">a row is unreadable, of an unknown manifest, or out of sequence (named).</exception>
    /// <exception cref="StateHashMismatchException">a checkpoint's hash differs from the rebuilt state.</exception>
    public static ReplayResult Replay(ActorSystem system, IJournal journal, RunInfo run,
        Func<string, Props?> propsForStream, Action<long>? onProgress = null)
    {
        system.Persistence.AttachForReplay(journal, run);
        IReadOnlyList<Checkpoint> checkpoints = journal.ReadCheckpoints(run);
        int nextCheckpoint = 0;
        int verified = 0;
        var actors = new Dictionary<string, PersistentActor>(StringComparer.Ordinal);
        string prefix = run.PersistenceIdPrefix;
        long events = 0;
        long lastTs = 0;
        PersistentActor? last = null;
        string lastPid = "";
        using IJournalCursor cursor = journal.ReadRun(run);
        while (cursor.MoveNext())
        {
            JournalEntry entry = cursor.Current;
            string where = $"{journal.Uri} journal row {entry.Ordering} ({entry.PersistenceId} #{entry.SequenceNr})";
            PersistentActor actor;
            if (ReferenceEquals(entry.PersistenceId, lastPid))
            {
                actor = last!;
            }
            else
            {
                string stream = entry.PersistenceId[prefix.Length..];
                if (!actors.TryGetValue(stream, out actor!))
                {
                    actor = CreateReplica(system, propsForStream, stream, where);
                    actors[stream] = actor;
                }
                last = actor;
                lastPid = entry.PersistenceId;
            }
            events++;
            lastTs = entry.TimestampNs;
            var meta = new EventMeta(actor.PersistenceId, entry.SequenceNr, entry.TimestampNs, events);
            actor.ReplayEvent(entry, in meta, system.Persistence.Taps, where);
            while (nextCheckpoint < checkpoints.Count && checkpoints[nextCheckpoint].EventCount == events)
            {
                Verify(system, checkpoints[nextCheckpoint], journal);
                verified++;
                nextCheckpoint++;
            }
            if ((events & 0xFFFF) == 0) onProgress?.Invoke(events);
        }
        // Checkpoints of events never committed (a crash between the two) cannot exist: they
        // commit in the same transaction as the events before them.
        if (nextCheckpoint < checkpoints.Count && checkpoints[nextCheckpoint].EventCount > events)
        {
            throw new JournalCorruptException(
                $"{journal.Uri}: run '{run.RunId}' has a checkpoint after event {checkpoints[nextCheckpoint].EventCount} but only {events} events");
        }
        return new ReplayResult(events, verified, system.Persistence.ComputeStateHash(), lastTs);
    }

    private static PersistentActor CreateReplica(ActorSystem system, Func<string, Props?> propsForStream, string stream, string where)
    {
        Props props = propsForStream(stream)
            ?? throw new JournalCorruptException($"{where}: no actor owns stream '{stream}'");
        ActorCell cell = system.CreateCell(props, stream, null, start: false);
        if (cell.Actor is not PersistentActor actor || actor.PersistenceId != stream)
        {
            throw new InvalidOperationException($"the actor created for stream '{stream}' does not persist to it");
        }
        return actor;
    }

    private static void Verify(ActorSystem system, Checkpoint checkpoint, IJournal journal)
    {
        ulong actual = system.Persistence.ComputeStateHash();
        if (actual != checkpoint.StateHash)
        {
            throw new StateHashMismatchException(
                $"{journal.Uri}: state after event {checkpoint.EventCount} hashes to {actual:x16}, the run recorded {checkpoint.StateHash:x16}",
                checkpoint.EventCount);
        }
    }
}
