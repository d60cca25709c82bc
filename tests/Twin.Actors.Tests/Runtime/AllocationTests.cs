using Akka.Actor;
using Twin.Actors.Runtime;
using Twin.Persistence;
using Twin.Persistence.Sqlite;

namespace Twin.Actors.Tests.Runtime;

/// <summary>
/// What Twin adds to Akka on the simulation thread allocates nothing per message: the run loop's
/// picks, the mailbox, the virtual-time scheduler, and handing events to the journal writer.
/// (Akka.Persistence's own bookkeeping per persisted event does allocate; docs/bench.md has the
/// figures. These tests pin Twin's part, so that a regression there shows as bytes, not as time.)
/// </summary>
public sealed class AllocationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("twin-alloc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>One message object, thrown back and forth: nothing is allocated per hop, so any byte seen is the runtime's.</summary>
    private sealed class Ball : ISimulationMessage
    {
        public int Left;
    }

    /// <summary>Throws the ball to its peer, every other hop through the scheduler after a few virtual nanoseconds.</summary>
    private sealed class Thrower : UntypedActor
    {
        public IActorRef? Peer;

        protected override void OnReceive(object message)
        {
            if (message is IActorRef peer)
            {
                Peer = peer;
                return;
            }
            var ball = (Ball)message;
            if (ball.Left-- <= 0) return;
            if ((ball.Left & 1) == 0) Peer!.Tell(ball, Self);
            else RunLoop.Of(Context.System).Scheduler.ScheduleTellOnceNs(3, Peer!, ball, Self);
        }
    }

    [Fact]
    public void the_run_loop_mailbox_and_scheduler_allocate_nothing_per_message()
    {
        ActorSystem system = SimulationSystem.Create(SimulationHocon.For(1));
        try
        {
            RunLoop loop = RunLoop.Of(system);
            IActorRef a = system.ActorOf(Props.Create(() => new Thrower()), "a");
            IActorRef b = system.ActorOf(Props.Create(() => new Thrower()), "b");
            a.Tell(b);
            b.Tell(a);
            var ball = new Ball { Left = 20_000 };
            // Warm-up: the JIT compiles, the ready list, the queues and the timer heap grow to size.
            a.Tell(ball);
            loop.Run();
            Assert.Equal(-1, ball.Left);

            ball.Left = 100_000;
            long messagesBefore = loop.SimulationMessages;
            long before = GC.GetAllocatedBytesForCurrentThread();
            a.Tell(ball);
            loop.Run();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal(100_001, loop.SimulationMessages - messagesBefore);
            Assert.True(allocated == 0, $"{allocated} bytes allocated over 100,001 messages");
        }
        finally
        {
            SimulationSystem.Shutdown(system);
        }
    }

    /// <summary>Bytes allocated on this thread per persisted event over <paramref name="counts"/> counts (after as many for warm-up).</summary>
    /// <param name="journal">Where <paramref name="writer"/> writes; null for a writer that drops the rows.</param>
    private static double BytesPerEvent(IJournal? journal, IJournalWriter writer, int counts)
    {
        ActorSystem system = SimulationSystem.Create(SimulationHocon.For(1));
        try
        {
            RunLoop loop = RunLoop.Of(system);
            loop.Persistence.Attach("alloc", writer, journal, checkpointEveryEvents: long.MaxValue);
            var peers = new IActorRef[2];
            for (int i = 0; i < peers.Length; i++)
            {
                string stream = $"counter-{i}";
                peers[i] = system.ActorOf(Props.Create(() => new Counter(stream, peers)), stream);
            }
            peers[0].Tell(new Count(1, counts));
            loop.Run();
            long events = loop.Persistence.PersistedEvents;
            long before = GC.GetAllocatedBytesForCurrentThread();
            peers[1].Tell(new Count(1, counts));
            loop.Run();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            events = loop.Persistence.PersistedEvents - events;
            Assert.Equal(counts + 1, events);
            writer.Flush();
            if (journal is not null)
            {
                long rows = 0;
                using IJournalCursor cursor = journal.ReadRun(journal.FindRun("alloc")!);
                while (cursor.MoveNext()) rows++;
                Assert.Equal(2L * (counts + 1), rows);
            }
            return allocated / (double)events;
        }
        finally
        {
            SimulationSystem.Shutdown(system);
        }
    }

    [Fact]
    public void handing_events_to_the_sqlite_writer_allocates_nothing_more_per_event()
    {
        const int counts = 20_000;
        // Both go through Akka's journal protocol and Twin's encoder; one writer drops the rows.
        double bare = BytesPerEvent(null, new DroppingWriter(), counts);
        using IJournal sqlite = SqliteJournal.Open(Path.Combine(_dir, "alloc.db"), create: true);
        double journaled = BytesPerEvent(sqlite, sqlite.StartRun(new RunStart("alloc", 1, "{}", "test", "w")), counts);
        // Akka.Persistence allocates the same per event either way; a copy, a boxed event or a
        // buffer per event on the way to the writer would add at least 24 bytes an event.
        Assert.True(journaled - bare < 2, $"{bare:F1} B/event into a discarding writer, {journaled:F1} B/event into the SQLite writer");
    }

    [Fact]
    public void an_invariant_formats_its_message_only_when_it_fails()
    {
        int phase = 7;
        Invariant.Assert(phase > 0, $"warm-up {phase}");
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) Invariant.Assert(phase > 0, $"nothing runs in phase {phase}");
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        var e = Assert.Throws<InvariantViolationException>(() => Invariant.Assert(phase < 0, $"nothing runs in phase {phase}"));
        Assert.Equal("invariant violated: nothing runs in phase 7 (phase < 0)", e.Message);
    }

    /// <summary>A storage writer that takes every row and keeps none: the yardstick for what the SQLite writer adds.</summary>
    private sealed class DroppingWriter : IJournalWriter
    {
        private readonly List<string> _streams = [];

        public RunInfo Run { get; } = new(1, "alloc", 1, "{}", "test", RunStatus.Running, "w", 0, null, null);

        public long CommittedEvents => AppendedEvents;

        public long AppendedEvents { get; private set; }

        public int RegisterStream(string stream)
        {
            _streams.Add(stream);
            return _streams.Count - 1;
        }

        public void Append(int stream, long sequenceNr, int manifest, long timestampNs, ReadOnlySpan<byte> payload) => AppendedEvents++;

        public void BeginAtomic(int rowCount)
        {
        }

        public void EndAtomic()
        {
        }

        public void AppendCheckpoint(Checkpoint checkpoint)
        {
        }

        public void Flush()
        {
        }

        public void Complete(RunStatus status, string summaryJson)
        {
        }

        public void Dispose()
        {
        }
    }
}
