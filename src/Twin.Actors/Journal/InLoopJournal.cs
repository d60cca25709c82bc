using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Twin.Actors.Runtime;
using Twin.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Actors.Journal;


/// <summary>
/// The journal plugin of a run: a plain actor speaking Akka's journal protocol, answering inside
/// the run loop (so persistence adds no scheduling choice and no thread). For a soak it keeps
/// nothing; for a journaled run it encodes each event with <see cref="EventSerializer"/> and
/// hands it to the run's storage writer, which commits in groups on a thread of its own. The
/// answers are the same either way: a run with and without a journal makes the same events.
/// A replay parks recovery requests with the run's <see cref="ReplayFeed"/>.
/// </summary>
public sealed class InLoopJournal : ActorBase
{
    private readonly RunLoop _loop;
    private readonly RunPersistence _persistence;
    private readonly Dictionary<string, int> _streams = new(StringComparer.Ordinal);
    private string? _lastId;
    private int _lastStream;

    public InLoopJournal(Config config)
    {
        _ = config;
        _loop = RunLoop.Of(Context.System);
        _persistence = _loop.Persistence;
    }

    protected override bool Receive(object message)
    {
        try
        {
            return Handle(message);
        }
        catch (Exception e)
        {
            // The journal runs under Akka's system guardian, which would restart it and lose the
            // answer the persistent actor waits for: a failure here stops the run instead.
            _loop.Halt(e);
            return true;
        }
    }

    private bool Handle(object message)
    {
        switch (message)
        {
            case WriteMessages w:
                Write(w);
                return true;
            case ReplayMessages r:
                Replay(r);
                return true;
            case DeleteMessagesTo d:
                // Twin's runs never delete events; the request is answered as Akka's protocol expects.
                d.PersistentActor.Tell(new DeleteMessagesSuccess(d.ToSequenceNr), Self);
                return true;
            default:
                return false;
        }
    }

    private void Write(WriteMessages w)
    {
        IJournalWriter? writer = _persistence.Writer;
        if (writer is not null && !Store(writer, w)) return;
        // Akka's order: the batch's success, then one success per event, in order.
        IActorRef actor = w.PersistentActor;
        actor.Tell(WriteMessagesSuccessful.Instance, Self);
        // Indexed, not foreach: an interface's enumerator is a boxed object per batch.
        var envelopes = (IReadOnlyList<IPersistentEnvelope>)w.Messages;
        for (int e = 0; e < envelopes.Count; e++)
        {
            IPersistentEnvelope envelope = envelopes[e];
            if (envelope is AtomicWrite atomic)
            {
                IReadOnlyList<IPersistentRepresentation> events = Events(atomic);
                for (int i = 0; i < events.Count; i++)
                {
                    IPersistentRepresentation p = events[i];
                    actor.Tell(new WriteMessageSuccess(p, w.ActorInstanceId), p.Sender);
                }
            }
            else
            {
                actor.Tell(new LoopMessageSuccess(envelope.Payload, w.ActorInstanceId), envelope.Sender);
            }
        }
    }

    /// <summary>Hands the batch's events to the writer; an atomic write of several events stays in one transaction. False when storage failed (the run halts).</summary>
    private bool Store(IJournalWriter writer, WriteMessages w)
    {
        Span<byte> buffer = stackalloc byte[PayloadLimits.MaxPayloadBytes];
        long now = _loop.NowNs;
        try
        {
            var envelopes = (IReadOnlyList<IPersistentEnvelope>)w.Messages;
            for (int e = 0; e < envelopes.Count; e++)
            {
                if (envelopes[e] is not AtomicWrite atomic) continue;
                IReadOnlyList<IPersistentRepresentation> events = Events(atomic);
                if (events.Count > 1) writer.BeginAtomic(events.Count);
                for (int i = 0; i < events.Count; i++)
                {
                    IPersistentRepresentation p = events[i];
                    int length = EventSerializer.Encode(p.Payload, buffer);
                    writer.Append(StreamHandle(writer, p.PersistenceId), p.SequenceNr, EventSerializer.Column(p.Payload), now, buffer[..length]);
                }
                if (events.Count > 1) writer.EndAtomic();
            }
            return true;
        }
        catch (JournalException e)
        {
            // Disk full, server gone: the run stops with this as its cause; what committed stays.
            _loop.Halt(e);
            return false;
        }
    }

    private static IReadOnlyList<IPersistentRepresentation> Events(AtomicWrite atomic) => (IReadOnlyList<IPersistentRepresentation>)atomic.Payload;

    private int StreamHandle(IJournalWriter writer, string persistenceId)
    {
        if (ReferenceEquals(persistenceId, _lastId)) return _lastStream;
        if (!_streams.TryGetValue(persistenceId, out int handle))
        {
            handle = writer.RegisterStream(_persistence.StreamOf(persistenceId));
            _streams[persistenceId] = handle;
        }
        _lastId = persistenceId;
        _lastStream = handle;
        return handle;
    }

    private void Replay(ReplayMessages r)
    {
        if (_persistence.Feed is { } feed)
        {
            feed.Park(r);
            return;
        }
        long highest = 0;
        // Only a stream this journal wrote has anything to recover: a new actor starts empty without a query.
        if (_persistence.RecoverFrom is { } journal && _persistence.Writer is { } writer && _streams.ContainsKey(r.PersistenceId))
        {
            // What an actor restarted inside a run recovers from: its committed events.
            writer.Flush();
            string stored = writer.Run.PersistenceIdOf(_persistence.StreamOf(r.PersistenceId));
            using IJournalCursor cursor = journal.ReadMessages(stored, r.FromSequenceNr, r.ToSequenceNr, r.Max);
            while (cursor.MoveNext())
            {
                JournalEntry e = cursor.Current;
                object payload = EventCodecs.Decode(e.Manifest, e.Payload);
                var p = new Persistent(payload, e.SequenceNr, r.PersistenceId, "", false, ActorRefs.NoSender, null, e.TimestampNs);
                r.PersistentActor.Tell(new ReplayedMessage(p), Self);
                highest = e.SequenceNr;
            }
        }
        r.PersistentActor.Tell(new RecoverySuccess(highest), Self);
    }
}

/// <summary>
/// The snapshot store plugin of a run: answers in the loop. Twin's actors rebuild from events (a
/// run's state is small and its events are the record), so there is never a snapshot to offer.
/// </summary>
public sealed class InLoopSnapshotStore : ActorBase
{
    public InLoopSnapshotStore(Config config) => _ = config;

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case LoadSnapshot load:
                Sender.Tell(new LoadSnapshotResult(null, load.ToSequenceNr), Self);
                return true;
            case SaveSnapshot save:
                Sender.Tell(new SaveSnapshotSuccess(save.Metadata), Self);
                return true;
            case DeleteSnapshot delete:
                Sender.Tell(new DeleteSnapshotSuccess(delete.Metadata), Self);
                return true;
            case DeleteSnapshots deletes:
                Sender.Tell(new DeleteSnapshotsSuccess(deletes.Criteria), Self);
                return true;
            default:
                return false;
        }
    }
}
