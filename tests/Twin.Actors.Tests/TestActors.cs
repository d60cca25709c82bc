using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Actors.Tests;

/// <summary>A small unmanaged message: travels inline, no allocation.</summary>
public readonly record struct Ping(int Value);

public sealed record Text(string Value);

/// <summary>Records what it received, with the virtual time.</summary>
public sealed class Recorder : ActorBase
{
    public Recorder(List<string> log, string name)
    {
        Receive<Ping>(p => log.Add($"{name}:{p.Value}@{Context.NowNs}"));
        Receive<Text>(t => log.Add($"{name}:{t.Value}@{Context.NowNs}"));
    }
}

/// <summary>Sums pings; throws on a negative one; its sum is observable to the test.</summary>
public sealed class Summer : ActorBase
{
    public Summer(Action<string> report)
    {
        int sum = 0;
        Receive<Ping>(p =>
        {
            if (p.Value < 0) throw new InvalidOperationException("negative");
            sum += p.Value;
            report($"sum={sum}");
        });
    }

    protected override void PreStart() => Starts++;

    public static int Starts;
}

public readonly record struct Incremented(int By) : IJournaledEvent<Incremented>
{
    public static EventManifest Manifest { get; } = new(1, 1, nameof(Incremented));

    public void Write(ref PayloadWriter writer) => writer.WriteVarInt(By);

    public static Incremented Read(ref PayloadReader reader) => new(reader.ReadInt32());
}

public readonly record struct Add(int By);

public readonly record struct AddMany(int Count);

public readonly record struct Crash;

public readonly record struct Snap;

/// <summary>An event-sourced counter: the smallest persistent actor.</summary>
public sealed class Counter : PersistentActor
{
    private readonly string _id;
    private readonly List<string> _log;

    public Counter(string id, List<string> log)
    {
        _id = id;
        _log = log;
        Recover<Incremented>(e => Value += e.By);
        Recover((SnapshotOffer o) =>
        {
            Value = BitConverter.ToInt32(o.Snapshot);
            _log.Add($"offer@{o.SequenceNr}={Value}");
        });
        Recover((RecoveryCompleted c) => _log.Add($"recovered@{c.LastSequenceNr}={Value}"));
        Command<Add>(a => Persist(new Incremented(a.By)));
        Command<AddMany>(a =>
        {
            var events = new List<Incremented>();
            for (int i = 0; i < a.Count; i++) events.Add(new Incremented(1));
            PersistAll(events);
        });
        Command<Crash>(_ => throw new InvalidOperationException("boom"));
        Command<Snap>(_ => SaveSnapshot(BitConverter.GetBytes(Value)));
    }

    public int Value { get; private set; }

    public override string PersistenceId => _id;

    public override void HashState(ref StateHasher hasher) => hasher.Add(Value);
}
