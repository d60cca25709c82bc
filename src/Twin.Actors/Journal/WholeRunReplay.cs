using Akka.Actor;
using Twin.Actors.Runtime;
using Twin.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Actors.Journal;

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
/// through Akka's own recovery (<see cref="ReplayFeed"/>): an actor starts when its stream's first
/// event comes, and each stored event reaches its Recover handler as a replayed message. The state
/// hash is verified at every checkpoint the run wrote. The run's taps see every event, in order.
/// </summary>
public static class WholeRunReplay
{
    /// <param name="startActor">Starts the actor owning a run-relative stream on <paramref name="system"/>; false if no actor owns it.</param>
    /// <param name="onProgress">Called every 65 536 events with the count so far.</param>
    /// <exception cref="JournalException">a row is unreadable, of an unknown manifest, or out of sequence (named).</exception>
    /// <exception cref="StateHashMismatchException">a checkpoint's hash differs from the rebuilt state.</exception>
    /// <exception cref="SimulationHaltedException">an actor failed applying an event (a model invariant).</exception>
    public static ReplayResult Replay(ActorSystem system, IJournal journal, RunInfo run, Func<string, bool> startActor, Action<long>? onProgress = null)
    {
        RunLoop loop = RunLoop.Of(system);
        RunPersistence persistence = loop.Persistence;
        var feed = new ReplayFeed();
        persistence.AttachReplay(run.RunId, feed);
        IReadOnlyList<Checkpoint> checkpoints = journal.ReadCheckpoints(run);
        int nextCheckpoint = 0;
        int verified = 0;
        var lastSeq = new Dictionary<string, long>(StringComparer.Ordinal);
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        string prefix = run.PersistenceIdPrefix;
        long events = 0;
        long lastTs = 0;
        using IJournalCursor cursor = journal.ReadRun(run);
        while (cursor.MoveNext())
        {
            JournalEntry entry = cursor.Current;
            var where = new RowPlace(journal.Uri, entry.Ordering, entry.PersistenceId, entry.SequenceNr);
            if (!ids.TryGetValue(entry.PersistenceId, out string? id))
            {
                string stream = entry.PersistenceId[prefix.Length..];
                id = persistence.PersistenceIdOf(stream);
                if (!startActor(stream)) throw new JournalCorruptException($"{where}: no actor owns stream '{stream}'");
                loop.RunUntilQuiet();
                if (!feed.IsWaiting(id)) throw new InvalidOperationException($"the actor started for stream '{stream}' does not recover {id}");
                ids[entry.PersistenceId] = id;
            }
            long expected = lastSeq.GetValueOrDefault(id) + 1;
            if (entry.SequenceNr != expected)
            {
                throw new JournalCorruptException($"{where}: sequence number {entry.SequenceNr} follows {expected - 1} in {id}");
            }
            lastSeq[id] = entry.SequenceNr;
            object payload = EventCodecs.DecodeRow(entry.Manifest, entry.Payload, in where);
            loop.Scheduler.MoveToForReplay(Math.Max(entry.TimestampNs, loop.NowNs));
            feed.Deliver(id, payload, entry.SequenceNr, entry.TimestampNs);
            loop.RunUntilQuiet();
            events++;
            lastTs = entry.TimestampNs;
            Invariant.Assert(persistence.PersistedEvents == events, "each replayed event is applied once, in order");
            while (nextCheckpoint < checkpoints.Count && checkpoints[nextCheckpoint].EventCount == events)
            {
                Verify(persistence, checkpoints[nextCheckpoint], journal);
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
        feed.CompleteAll();
        loop.RunUntilQuiet();
        return new ReplayResult(events, verified, persistence.ComputeStateHash(), lastTs);
    }

    private static void Verify(RunPersistence persistence, Checkpoint checkpoint, IJournal journal)
    {
        ulong actual = persistence.ComputeStateHash();
        if (actual != checkpoint.StateHash)
        {
            throw new StateHashMismatchException(
                $"{journal.Uri}: state after event {checkpoint.EventCount} hashes to {actual:x16}, the run recorded {checkpoint.StateHash:x16}",
                checkpoint.EventCount);
        }
    }
}
