using Akka.Actor;
using Twin.Actors.Journal;
using Twin.Actors.Runtime;
using Twin.Persistence;
using Twin.Persistence.Memory;

namespace Twin.Actors.Tests.Runtime;


public sealed class RecoveryTests : LoopTestKit
{
    [Theory]
    [InlineData("memory")]
    [InlineData("sqlite")]
    public void an_actor_started_again_inside_a_run_recovers_its_state_through_akka_recovery(string storage)
    {
        RunLoop loop = StartLoop();
        string file = Path.Combine(Path.GetTempPath(), $"twin-recovery-{Guid.NewGuid():N}.db");
        // SQLite: the events come back from Akka.Persistence.Sql's journal table in a real file.
        using IJournal journal = storage == "memory" ? new MemoryJournal() : Twin.Persistence.Sqlite.SqliteJournal.Open(file, create: true);
        IJournalWriter writer = journal.StartRun(new RunStart("r", 1, "{}", "test", "w"));
        loop.Persistence.Attach("r", writer, journal, 0);
        IActorRef first = Sys.ActorOf(Props.Create(() => new Counter("counter-0", Array.Empty<IActorRef>())), "counter-0");
        for (int i = 1; i <= 4; i++) first.Tell(new Count(i, 0));
        Drive();
        // A question (not a simulation message) is answered at once: asked after the counts ran.
        first.Tell("total", TestActor);
        Drive();
        ExpectMsg(10, TimeSpan.Zero);
        Sys.Stop(first);
        Drive();
        IActorRef again = Sys.ActorOf(Props.Create(() => new Counter("counter-0", Array.Empty<IActorRef>())), "counter-0");
        again.Tell("total", TestActor);
        again.Tell("seq", TestActor);
        Drive();
        ExpectMsg(10, TimeSpan.Zero);
        ExpectMsg(4L, TimeSpan.Zero);
        // Recovery is not news: the run counted four events, not eight.
        Assert.Equal(4, loop.Persistence.PersistedEvents);
        writer.Dispose();
        foreach (string f in new[] { file, file + "-wal", file + "-shm" }) File.Delete(f);
    }

    [Fact]
    public void a_replay_feed_rebuilds_actors_in_the_runs_global_order_through_recovery()
    {
        RunLoop loop = StartLoop();
        var feed = new ReplayFeed();
        loop.Persistence.AttachReplay("r", feed);
        var tap = new RecordingTap();
        loop.Persistence.Taps.Add(tap);
        IActorRef a = Sys.ActorOf(Props.Create(() => new Counter("a", Array.Empty<IActorRef>())), "a");
        IActorRef b = Sys.ActorOf(Props.Create(() => new Counter("b", Array.Empty<IActorRef>())), "b");
        loop.RunUntilQuiet();
        Assert.Equal(2, feed.Waiting);
        (string Id, int By, long Seq, long Ns)[] stored = [("r/b", 5, 1, 10), ("r/a", 1, 1, 20), ("r/b", 2, 2, 30)];
        foreach ((string id, int by, long seq, long ns) in stored)
        {
            loop.Scheduler.MoveToForReplay(ns);
            feed.Deliver(id, new Counted(by), seq, ns);
            loop.RunUntilQuiet();
        }
        feed.CompleteAll();
        loop.RunUntilQuiet();
        Assert.Equal(["b#1:5@10/1", "a#1:1@20/2", "b#2:2@30/3"], tap.Seen);
        a.Tell("total", TestActor);
        b.Tell("total", TestActor);
        loop.RunUntilQuiet();
        ExpectMsg(1, TimeSpan.Zero);
        ExpectMsg(7, TimeSpan.Zero);
    }
}
