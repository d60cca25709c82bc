using Akka.Actor;
using Twin.Actors.Journal;
using Twin.Actors.Runtime;
using Twin.Persistence;
using Twin.Persistence.Memory;
using Twin.Persistence.Codec;

namespace Twin.Actors.Tests.Runtime;


public sealed class PersistenceInTheLoopTests
{
    private sealed record Outcome(List<string> Events, long Draws, long SimulationMessages, ulong StateHash, long Rows);

    /// <summary>Three counters passing 300 counts around, optionally journaled to a memory journal.</summary>
    private static Outcome Run(ulong seed, bool journaled)
    {
        Akka.Actor.ActorSystem system = SimulationSystem.Create(SimulationHocon.For(seed));
        var journal = new MemoryJournal();
        try
        {
            RunLoop loop = RunLoop.Of(system);
            IJournalWriter? writer = journaled ? journal.StartRun(new RunStart("t", seed, "{}", "test", "w")) : null;
            loop.Persistence.Attach("t", writer, journaled ? journal : null, checkpointEveryEvents: 50);
            var tap = new RecordingTap();
            loop.Persistence.Taps.Add(tap);
            var peers = new IActorRef[3];
            for (int i = 0; i < peers.Length; i++)
            {
                string stream = $"counter-{i}";
                peers[i] = system.ActorOf(Props.Create(() => new Counter(stream, peers)), stream);
            }
            peers[0].Tell(new Count(1, 300));
            loop.Run();
            loop.Persistence.WriteCheckpoint();
            writer?.Flush();
            long rows = 0;
            if (journaled)
            {
                using IJournalCursor cursor = journal.ReadRun(journal.FindRun("t")!);
                while (cursor.MoveNext()) rows++;
            }
            return new Outcome(tap.Seen, loop.Random.Draws, loop.SimulationMessages, loop.Persistence.ComputeStateHash(), rows);
        }
        finally
        {
            SimulationSystem.Shutdown(system);
        }
    }

    [Fact]
    public void a_journal_changes_nothing_the_run_does()
    {
        Outcome bare = Run(5, journaled: false);
        Outcome journaled = Run(5, journaled: true);
        Assert.Equal(301, bare.Events.Count);
        Assert.Equal(bare.Events, journaled.Events);
        Assert.Equal(bare.Draws, journaled.Draws);
        Assert.Equal(bare.SimulationMessages, journaled.SimulationMessages);
        Assert.Equal(bare.StateHash, journaled.StateHash);
        Assert.Equal(301, journaled.Rows);
    }

    [Fact]
    public void events_are_numbered_in_run_order_and_each_applies_before_the_next_simulation_message()
    {
        Outcome o = Run(9, journaled: false);
        // One event per command, numbered 1..N in the order the commands ran.
        for (int i = 0; i < o.Events.Count; i++) Assert.EndsWith($"/{i + 1}", o.Events[i]);
        Assert.Equal(o.Events.Count, o.SimulationMessages);
        Assert.NotEqual(o.Events, Run(10, journaled: false).Events);
    }

    [Fact]
    public void akka_serializes_twin_events_with_twins_codec_and_a_row_check()
    {
        Akka.Actor.ActorSystem system = SimulationSystem.Create(SimulationHocon.For(1));
        try
        {
            EventCodecs.Register<Counted>();
            Akka.Serialization.Serialization serialization = system.Serialization;
            Akka.Serialization.Serializer serializer = serialization.FindSerializerFor(new Counted(-300));
            Assert.IsType<EventSerializer>(serializer);
            string manifest = Akka.Serialization.Serialization.ManifestFor(serializer, new Counted(-300));
            Assert.Equal(Counted.Manifest.Column.ToString(System.Globalization.CultureInfo.InvariantCulture), manifest);
            byte[] bytes = serializer.ToBinary(new Counted(-300));
            Assert.Equal(new Counted(-300), serialization.Deserialize(bytes, EventSerializer.Id, manifest));
            // A flipped bit is refused, not decoded into another event.
            bytes[0] ^= 0x40;
            Assert.ThrowsAny<Exception>(() => serialization.Deserialize(bytes, EventSerializer.Id, manifest));
        }
        finally
        {
            SimulationSystem.Shutdown(system);
        }
    }
}
