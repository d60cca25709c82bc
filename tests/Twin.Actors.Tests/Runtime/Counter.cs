using Akka.Actor;
using Twin.Actors.Journal;
using Twin.Actors.Persistence;
using Twin.Actors.Runtime;
using Twin.Persistence.Codec;

namespace Twin.Actors.Tests.Runtime;


/// <summary>A test event: the counter went up by <paramref name="By"/>.</summary>
public readonly record struct Counted(int By) : IJournaledEvent<Counted>
{
    public static EventManifest Manifest { get; } = new(900, 1, nameof(Counted));

    public void Write(ref PayloadWriter w) => w.WriteVarInt(By);

    public static Counted Read(ref PayloadReader r) => new(r.ReadInt32());
}

/// <summary>Count commands; a counter adds its amount and tells the next counter drawn at random.</summary>
public sealed record Count(int Amount, int Left) : ISimulationMessage;

/// <summary>A persistent test actor: its state changes only through <see cref="Counted"/>.</summary>
public sealed class Counter : JournaledActor
{
    private readonly IActorRef[] _peers;

    public Counter(string stream, IActorRef[] peers) : base(stream)
    {
        _peers = peers;
        ApplyWith<Counted>(e => Total += e.By);
    }

    public int Total { get; private set; }

    public override void HashState(ref StateHasher hasher) => hasher.Add(Total);

    protected override void OnRecovered()
    {
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case Count c:
                Raise(new Counted(c.Amount));
                if (c.Left > 0 && _peers.Length > 0)
                {
                    IActorRef next = _peers[Loop.Random.NextInt(_peers.Length)];
                    Loop.Scheduler.ScheduleTellOnceNs(Loop.Random.NextLong(0, 5), next, new Count(c.Amount + 1, c.Left - 1), Self);
                }
                break;
            case "total":
                Sender.Tell(Total);
                break;
            case "seq":
                Sender.Tell(LastSequenceNr);
                break;
            default:
                Unhandled(message);
                break;
        }
    }
}

/// <summary>Records every event it sees, as "stream#seq:by@ns".</summary>
public sealed class RecordingTap : EventTap
{
    public List<string> Seen { get; } = [];

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (KernelLikeIs(in evt, out Counted c)) Seen.Add($"{meta.Stream}#{meta.SequenceNr}:{c.By}@{meta.TimestampNs}/{meta.EventIndex}");
    }

    private static bool KernelLikeIs<TEvent, T>(in TEvent evt, out T value) where T : struct
    {
        if (evt is T t)
        {
            value = t;
            return true;
        }
        value = default;
        return false;
    }
}
