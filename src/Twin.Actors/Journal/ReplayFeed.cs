using Akka.Actor;
using Akka.Persistence;

namespace Twin.Actors.Journal;

/// <summary>
/// Whole-run replay through Akka's own recovery. Every actor of the run starts in a replay system
/// and asks the in-loop journal to replay its stream; the journal parks the request here instead
/// of answering. The replay driver then hands each stored event, in the run's global order, to
/// the actor that owns it (a <see cref="ReplayedMessage"/>, as a journal would), and at the end
/// completes every recovery. So the Recover handlers that rebuild an actor after a restart are
/// the ones that rebuild the whole run, and observers see the events in the order the run made them.
/// </summary>
public sealed class ReplayFeed
{
    private readonly Dictionary<string, Parked> _parked = new(StringComparer.Ordinal);

    private sealed class Parked(IActorRef actor)
    {
        public IActorRef Actor { get; } = actor;
        public long Highest { get; set; }
    }

    /// <summary>Persistence ids whose recovery waits for events.</summary>
    public int Waiting => _parked.Count;

    /// <summary>The in-loop journal parks a recovery request.</summary>
    internal void Park(ReplayMessages request)
    {
        if (_parked.ContainsKey(request.PersistenceId))
        {
            throw new InvalidOperationException($"a second recovery of {request.PersistenceId} during a replay");
        }
        _parked[request.PersistenceId] = new Parked(request.PersistentActor);
    }

    public bool IsWaiting(string persistenceId) => _parked.ContainsKey(persistenceId);

    /// <summary>Hands one stored event to the actor recovering <paramref name="persistenceId"/>.</summary>
    public void Deliver(string persistenceId, object payload, long sequenceNr, long timestampNs)
    {
        Parked p = _parked[persistenceId];
        p.Highest = sequenceNr;
        var persistent = new Persistent(payload, sequenceNr, persistenceId, "", false, ActorRefs.NoSender, null, timestampNs);
        p.Actor.Tell(new ReplayedMessage(persistent), ActorRefs.NoSender);
    }

    /// <summary>Ends every parked recovery: each actor gets RecoverySuccess with its highest sequence number.</summary>
    public void CompleteAll()
    {
        foreach (string id in _parked.Keys.Order(StringComparer.Ordinal))
        {
            Parked p = _parked[id];
            p.Actor.Tell(new RecoverySuccess(p.Highest), ActorRefs.NoSender);
        }
        _parked.Clear();
    }
}
