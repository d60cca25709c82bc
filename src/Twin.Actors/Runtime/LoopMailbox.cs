using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;
using Akka.Event;

namespace Twin.Actors.Runtime;


/// <summary>
/// Akka's mailbox type for every actor of a run (configured for the default mailbox and for every
/// requirement Akka maps, deque and logger queues included): a <see cref="LoopMessageQueue"/>
/// bound to the run's loop.
/// </summary>
public sealed class LoopMailboxType(Settings settings, Config config) : MailboxType(settings, config), IProducesMessageQueue<LoopMessageQueue>
{
    public override IMessageQueue Create(IActorRef owner, ActorSystem system)
    {
        RunLoop loop = RunLoop.Of(system);
        // The path, not the actor's uid (random per actor), is what orders ready mailboxes.
        string key = owner is null ? "" : owner.Path.ToStringWithoutAddress();
        return new LoopMessageQueue(loop, key, loop.NextOrdinal());
    }
}

/// <summary>
/// One actor's messages in two lanes: Akka's own traffic, delivered first and at once, and the
/// simulation's messages, each delivered when the loop picks this mailbox. A run of the mailbox
/// takes one message (the loop sets the budget), so one pick is one message. Deque semantics
/// (EnqueueFirst) let Akka's stash, which persistent actors require, put messages back in front.
/// </summary>
public sealed class LoopMessageQueue : IMessageQueue, IUnboundedDequeBasedMessageQueueSemantics, IMultipleConsumerSemantics, ILoggerMessageQueueSemantics
{
    private readonly RunLoop _loop;
    private readonly EnvelopeDeque _akka = new();
    private readonly EnvelopeDeque _simulation = new();

    internal LoopMessageQueue(RunLoop loop, string key, int ordinal)
    {
        _loop = loop;
        Key = key;
        Ordinal = ordinal;
    }

    /// <summary>The owner's path: the canonical order of ready mailboxes.</summary>
    public string Key { get; }

    /// <summary>Creation order of the owner; stable identity for scheduling strategies (PCT).</summary>
    public int Ordinal { get; }

    /// <summary>Akka's mailbox around this queue, known once the dispatcher first hands it over.</summary>
    internal Mailbox? Mailbox { get; set; }

    internal ReadyState State { get; set; }

    /// <summary>Messages the current run of the mailbox may still take: the loop sets 1; unlimited for a mailbox it does not run (a test's calling-thread probe).</summary>
    internal int Budget { get; set; } = int.MaxValue;

    /// <summary>The current run is for Akka's traffic only: simulation messages wait for a pick.</summary>
    internal bool AkkaOnly { get; set; }

    /// <summary>True when the next message is a simulation message: running it is a scheduling choice.</summary>
    internal bool NextIsSimulation => _akka.Count == 0 && _simulation.Count > 0;

    public bool HasMessages => _akka.Count > 0 || _simulation.Count > 0;

    public int Count => _akka.Count + _simulation.Count;

    public void Enqueue(IActorRef receiver, Envelope envelope)
    {
        if (envelope.Message is ISimulationMessage) _simulation.AddLast(envelope);
        else AddAkka(envelope, first: false);
    }

    public void EnqueueFirst(Envelope envelope)
    {
        if (envelope.Message is ISimulationMessage) _simulation.AddFirst(envelope);
        else AddAkka(envelope, first: true);
    }

    public bool TryDequeue(out Envelope envelope)
    {
        if (Budget > 0)
        {
            if (_akka.Count > 0)
            {
                Budget--;
                envelope = _akka.RemoveFirst();
                return true;
            }
            if (!AkkaOnly && _simulation.Count > 0)
            {
                Budget--;
                envelope = _simulation.RemoveFirst();
                return true;
            }
        }
        envelope = default;
        return false;
    }

    public void CleanUp(IActorRef owner, IMessageQueue deadletters)
    {
        while (_akka.Count > 0) deadletters.Enqueue(owner, _akka.RemoveFirst());
        while (_simulation.Count > 0) deadletters.Enqueue(owner, _simulation.RemoveFirst());
    }

    private void AddAkka(Envelope envelope, bool first)
    {
        if (Mailbox is not null) _loop.CheckNotSimulationType(envelope.Message);
        if (first) _akka.AddFirst(envelope);
        else _akka.AddLast(envelope);
        _loop.AkkaMessageArrived(this);
    }
}

internal enum ReadyState : byte
{
    Idle,
    Ready,
    Urgent,
    Running,
}

/// <summary>A growable ring of envelopes: O(1) at both ends, no allocation once grown.</summary>
internal sealed class EnvelopeDeque
{
    private Envelope[] _items = new Envelope[4];
    private int _head;

    public int Count { get; private set; }

    public void AddLast(in Envelope e)
    {
        if (Count == _items.Length) Grow();
        _items[(_head + Count) & (_items.Length - 1)] = e;
        Count++;
    }

    public void AddFirst(in Envelope e)
    {
        if (Count == _items.Length) Grow();
        _head = (_head - 1) & (_items.Length - 1);
        _items[_head] = e;
        Count++;
    }

    public Envelope RemoveFirst()
    {
        Envelope e = _items[_head];
        _items[_head] = default;
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
        return e;
    }

    private void Grow()
    {
        var bigger = new Envelope[_items.Length * 2];
        for (int i = 0; i < Count; i++) bigger[i] = _items[(_head + i) & (_items.Length - 1)];
        _items = bigger;
        _head = 0;
    }
}
