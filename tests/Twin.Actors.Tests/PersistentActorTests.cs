using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Persistence;
using Twin.Persistence.Memory;
using Twin.Persistence.Sqlite;
using Twin.Persistence.Tests;

namespace Twin.Actors.Tests;

public sealed class PersistentActorTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (ActorSystem System, IJournalWriter Writer) Attached(IJournal journal, long checkpointEvery = 0, string runId = "r")
    {
        var system = new ActorSystem(5);
        IJournalWriter writer = journal.StartRun(new RunStart(runId, 5, "{}", "test", "w"));
        system.Persistence.Attach(journal, writer, checkpointEvery);
        return (system, writer);
    }

    [Fact]
    public void A_new_persistence_id_should_complete_recovery_at_zero()
    {
        var log = new List<string>();
        var (system, _) = Attached(new MemoryJournal());
        system.ActorOf(Props.Create(() => new Counter("c", log)), "c");
        Assert.Equal(["recovered@0=0"], log);
    }

    [Fact]
    public void PersistentActor_should_recover_from_persisted_events_after_a_restart()
    {
        var log = new List<string>();
        var (system, _) = Attached(new MemoryJournal());
        ActorRef c = system.ActorOf(Props.Create(() => new Counter("c", log)), "c");
        c.Tell(new Add(3));
        c.Tell(new Add(4));
        c.Tell(new Crash());
        c.Tell(new Add(1));
        system.Run();
        Assert.Equal(["recovered@0=0", "recovered@2=7"], log);
        Assert.Equal(1, system.Restarts);
        Assert.Equal(8, RebuiltValue(system));
    }

    [Fact]
    public void PersistentActor_should_recover_from_a_snapshot_then_later_events()
    {
        var log = new List<string>();
        var (system, _) = Attached(SqliteJournal.Open(_dir.File("snap.db"), create: true));
        ActorRef c = system.ActorOf(Props.Create(() => new Counter("c", log)), "c");
        c.Tell(new Add(3));
        c.Tell(new Add(4));
        c.Tell(new Snap());
        c.Tell(new Add(10));
        c.Tell(new Crash());
        system.Run();
        Assert.Equal(["recovered@0=0", "offer@2=7", "recovered@3=17"], log);
    }

    [Fact]
    public void PersistAll_should_store_the_events_as_one_group_in_order()
    {
        var log = new List<string>();
        IJournal journal = new MemoryJournal();
        var (system, writer) = Attached(journal, checkpointEvery: 2);
        ActorRef c = system.ActorOf(Props.Create(() => new Counter("c", log)), "c");
        c.Tell(new AddMany(5));
        system.Run();
        writer.Flush();
        Assert.Equal(5, journal.ReadHighestSequenceNr(writer.Run.PersistenceIdOf("c")));
        // The checkpoints falling due inside the group are written once, after it.
        Assert.Equal([5L], journal.ReadCheckpoints(writer.Run).Select(cp => cp.EventCount));
    }

    [Fact]
    public void Replay_should_rebuild_the_state_and_verify_every_checkpoint()
    {
        var log = new List<string>();
        IJournal journal = SqliteJournal.Open(_dir.File("replay.db"), create: true);
        var (system, writer) = Attached(journal, checkpointEvery: 3);
        ActorRef a = system.ActorOf(Props.Create(() => new Counter("a", log)), "a");
        ActorRef b = system.ActorOf(Props.Create(() => new Counter("b", log)), "b");
        for (int i = 1; i <= 10; i++)
        {
            a.Tell(new Add(i));
            b.Tell(new Add(100 * i));
        }
        system.Run();
        system.Persistence.WriteCheckpoint();
        writer.Flush();
        ulong live = system.Persistence.ComputeStateHash();

        var replica = new ActorSystem(0);
        ReplayResult result = RunReplayer.Replay(replica, journal, writer.Run,
            stream => Props.Create(() => new Counter(stream, [])));
        Assert.Equal(20, result.Events);
        Assert.Equal(7, result.CheckpointsVerified);
        Assert.Equal(live, result.StateHash);
    }

    [Fact]
    public void Replay_should_report_a_state_that_differs_from_the_checkpoint()
    {
        IJournal journal = new MemoryJournal();
        var (system, writer) = Attached(journal, checkpointEvery: 2);
        ActorRef a = system.ActorOf(Props.Create(() => new Counter("a", [])), "a");
        for (int i = 1; i <= 4; i++) a.Tell(new Add(i));
        system.Run();
        writer.Flush();
        var replica = new ActorSystem(0);
        // A replica whose state hashes differently stands for an Apply that changed behaviour.
        var e = Assert.Throws<StateHashMismatchException>(() => RunReplayer.Replay(replica, journal, writer.Run,
            stream => Props.Create(() => new SkewedCounter(stream))));
        Assert.Contains("after event 2", e.Message);
    }

    [Fact]
    public void Persisting_into_sqlite_should_not_allocate_on_the_simulation_thread()
    {
        IJournal journal = SqliteJournal.Open(_dir.File("alloc.db"), create: true);
        var (system, writer) = Attached(journal);
        ActorRef a = system.ActorOf(Props.Create(() => new Counter("a", [])), "a");
        for (int i = 0; i < 20_000; i++) a.Tell(new Add(1));
        system.Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 10; round++)
        {
            for (int i = 0; i < 5_000; i++) a.Tell(new Add(1));
            system.Run();
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        writer.Flush();
        Assert.Equal(0, allocated);
        Assert.Equal(70_000, journal.ReadHighestSequenceNr(writer.Run.PersistenceIdOf("a")));
    }

    private static int RebuiltValue(ActorSystem system)
    {
        int value = -1;
        foreach (ActorCell cell in system.LiveCells())
        {
            if (cell.Actor is Counter c) value = c.Value;
        }
        return value;
    }

    private sealed class SkewedCounter : PersistentActor
    {
        private readonly string _id;
        private int _value;

        public SkewedCounter(string id)
        {
            _id = id;
            Recover<Incremented>(e => _value += e.By);
        }

        public override string PersistenceId => _id;

        public override void HashState(ref StateHasher hasher) => hasher.Add(_value + 1);
    }
}
