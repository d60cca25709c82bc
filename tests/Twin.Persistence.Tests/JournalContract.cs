using Twin.Persistence;

namespace Twin.Persistence.Tests;

/// <summary>
/// The journal contract every backend passes (after Akka's Persistence TCK JournalSpec): replay
/// bounds, deletes, sequence numbers, runs, checkpoints, snapshots and conflicts. Each backend
/// subclasses it and supplies a fresh journal.
/// </summary>
public abstract class JournalContract : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    protected abstract IJournal CreateJournal();

    public virtual void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        GC.SuppressFinalize(this);
    }

    protected IJournal Journal()
    {
        IJournal j = CreateJournal();
        _owned.Add(j);
        return j;
    }

    protected static RunStart Start(string id, ulong seed = 7) => new(id, seed, "{\"cpus\":2}", "test", Guid.NewGuid().ToString());

    protected static byte[] Payload(long seq) => [(byte)seq, (byte)(seq >> 8), 0xAB];

    /// <summary>Writes <paramref name="count"/> events to <paramref name="stream"/>, sequence numbers from <paramref name="firstSeq"/>.</summary>
    protected static void Write(IJournalWriter w, string stream, int count, long firstSeq = 1, int manifest = 0x11)
    {
        int handle = w.RegisterStream(stream);
        for (long s = firstSeq; s < firstSeq + count; s++) w.Append(handle, s, manifest, s * 10, Payload(s));
    }

    protected static List<(long Seq, long Ts, byte[] Payload, string Pid, long Ordering)> ReadAll(IJournalCursor cursor)
    {
        var list = new List<(long, long, byte[], string, long)>();
        using (cursor)
        {
            while (cursor.MoveNext())
            {
                JournalEntry e = cursor.Current;
                list.Add((e.SequenceNr, e.TimestampNs, e.Payload.ToArray(), e.PersistenceId, e.Ordering));
            }
        }
        return list;
    }

    private (IJournal J, RunInfo Run) JournalWithFiveEvents()
    {
        IJournal j = Journal();
        using IJournalWriter w = j.StartRun(Start("r1"));
        Write(w, "cpu-0", 5);
        w.Flush();
        return (j, w.Run);
    }

    [Fact]
    public void Journal_should_replay_all_messages_in_sequence_order()
    {
        var (j, run) = JournalWithFiveEvents();
        var rows = ReadAll(j.ReadMessages(run.PersistenceIdOf("cpu-0"), 1, long.MaxValue, long.MaxValue));
        Assert.Equal([1L, 2, 3, 4, 5], rows.Select(r => r.Seq));
        Assert.Equal(Payload(3), rows[2].Payload);
        Assert.Equal(30, rows[2].Ts);
        Assert.Equal(run.PersistenceIdOf("cpu-0"), rows[0].Pid);
    }

    [Theory]
    [InlineData(3, long.MaxValue, long.MaxValue, new long[] { 3, 4, 5 })]
    [InlineData(1, 3, long.MaxValue, new long[] { 1, 2, 3 })]
    [InlineData(1, long.MaxValue, 2, new long[] { 1, 2 })]
    [InlineData(2, 3, long.MaxValue, new long[] { 2, 3 })]
    [InlineData(2, 2, long.MaxValue, new long[] { 2 })]
    [InlineData(1, long.MaxValue, 0, new long[0])]
    [InlineData(4, 2, long.MaxValue, new long[0])]
    public void Journal_should_replay_messages_within_bounds(long from, long to, long max, long[] expected)
    {
        var (j, run) = JournalWithFiveEvents();
        var rows = ReadAll(j.ReadMessages(run.PersistenceIdOf("cpu-0"), from, to, max));
        Assert.Equal(expected, rows.Select(r => r.Seq));
    }

    [Fact]
    public void Journal_should_replay_nothing_for_an_id_never_written()
    {
        var (j, _) = JournalWithFiveEvents();
        Assert.Empty(ReadAll(j.ReadMessages("9:nobody", 1, long.MaxValue, long.MaxValue)));
        Assert.Equal(0, j.ReadHighestSequenceNr("9:nobody"));
    }

    [Fact]
    public void ReadRun_should_return_every_stream_of_the_run_in_global_write_order()
    {
        IJournal j = Journal();
        using IJournalWriter w = j.StartRun(Start("r1"));
        int a = w.RegisterStream("cpu-0");
        int b = w.RegisterStream("cpu-1");
        w.Append(a, 1, 1, 10, [1]);
        w.Append(b, 1, 1, 11, [2]);
        w.Append(a, 2, 1, 12, [3]);
        w.Append(b, 2, 1, 13, [4]);
        w.Flush();
        using IJournalWriter other = j.StartRun(Start("r2"));
        Write(other, "cpu-0", 3);
        other.Flush();
        var rows = ReadAll(j.ReadRun(w.Run));
        Assert.Equal([1, 2, 3, 4], rows.Select(r => r.Payload[0]));
        Assert.True(rows.Zip(rows.Skip(1)).All(p => p.First.Ordering < p.Second.Ordering));
        Assert.Equal(3, ReadAll(j.ReadRun(other.Run)).Count);
    }

    [Fact]
    public void StartRun_should_record_the_run_and_Complete_should_finish_it()
    {
        IJournal j = Journal();
        IJournalWriter w = j.StartRun(Start("r1", seed: ulong.MaxValue));
        RunInfo running = j.FindRun("r1")!;
        Assert.Equal(RunStatus.Running, running.Status);
        Assert.Equal(ulong.MaxValue, running.Seed);
        Assert.Equal("{\"cpus\":2}", running.ConfigJson);
        Write(w, "cpu-0", 2);
        w.Complete(RunStatus.Completed, "{\"events\":2}");
        w.Dispose();
        RunInfo done = j.FindRun("r1")!;
        Assert.Equal(RunStatus.Completed, done.Status);
        Assert.Equal("{\"events\":2}", done.SummaryJson);
        Assert.NotNull(done.FinishedUnixMs);
        Assert.Equal(2, w.CommittedEvents);
        Assert.Equal(["r1"], j.ListRuns().Select(r => r.RunId));
    }

    [Fact]
    public void StartRun_should_refuse_a_second_writer_on_the_same_run()
    {
        IJournal j = Journal();
        using IJournalWriter first = j.StartRun(Start("r1"));
        var e = Assert.Throws<JournalConflictException>(() => j.StartRun(Start("r1")));
        Assert.Contains("r1", e.Message);
        Assert.Contains("second writer", e.Message);
    }

    /// <summary>False for a journal that dies with its process (memory): there is never a run to take over.</summary>
    protected virtual bool OutlivesProcess => true;

    [Fact]
    public void A_run_left_running_is_taken_over_once_and_its_streams_go_on()
    {
        IJournal j = Journal();
        using IJournalWriter dead = j.StartRun(Start("r1"));
        Write(dead, "cpu-0", 3);
        dead.Flush();
        RunInfo run = j.FindRun("r1")!;
        if (!OutlivesProcess)
        {
            Assert.Throws<JournalFormatException>(() => j.TakeOverRun(run, "w2"));
            return;
        }
        using (IJournalWriter next = j.TakeOverRun(run, "w2"))
        {
            Assert.Equal("w2", j.FindRun("r1")!.WriterUuid);
            Write(next, "cpu-0", 2, firstSeq: 4);
            Write(next, "cpu-1", 1);
            next.Complete(RunStatus.Completed, "{}");
        }
        Assert.Equal([1L, 2, 3, 4, 5, 1], ReadAll(j.ReadRun(j.FindRun("r1")!)).Select(r => r.Seq));
        var finished = Assert.Throws<JournalConflictException>(() => j.TakeOverRun(j.FindRun("r1")!, "w3"));
        Assert.Contains("nothing to resume", finished.Message);
        // A second taker with the same stale view of the run loses to the first.
        using IJournalWriter other = j.StartRun(Start("r2"));
        RunInfo r2 = j.FindRun("r2")!;
        using IJournalWriter winner = j.TakeOverRun(r2, "w4");
        var late = Assert.Throws<JournalConflictException>(() => j.TakeOverRun(r2, "w5"));
        Assert.Contains("taken over by writer w4", late.Message);
    }

    [Fact]
    public void Journal_should_refuse_a_row_whose_sequence_number_was_already_written()
    {
        IJournal j = Journal();
        using IJournalWriter first = j.StartRun(Start("r1"));
        Write(first, "cpu-0", 3);
        first.Flush();
        using IJournalWriter second = j.OpenUnclaimedWriter(first.Run);
        int h = second.RegisterStream("cpu-0");
        // The stale writer believes the stream is empty only if it did not look; it looked, so it continues at 4.
        second.Append(h, 4, 0x11, 40, [4]);
        second.Flush();
        Assert.Throws<InvalidOperationException>(() => first.Append(first.RegisterStream("cpu-0"), 3, 0x11, 30, [3]));
        first.Append(first.RegisterStream("cpu-0"), 4, 0x11, 40, [9]);
        var e = Assert.ThrowsAny<JournalException>(() => first.Flush());
        Assert.IsType<JournalConflictException>(e);
        Assert.Contains("cpu-0", e.Message);
        var rows = ReadAll(j.ReadMessages(first.Run.PersistenceIdOf("cpu-0"), 1, long.MaxValue, long.MaxValue));
        Assert.Equal([1L, 2, 3, 4], rows.Select(r => r.Seq));
        Assert.Equal([4], rows[3].Payload.Take(1));
    }

    [Fact]
    public void Writer_should_refuse_a_gap_in_sequence_numbers()
    {
        IJournal j = Journal();
        using IJournalWriter w = j.StartRun(Start("r1"));
        int h = w.RegisterStream("cpu-0");
        w.Append(h, 1, 0x11, 0, [1]);
        Assert.Throws<InvalidOperationException>(() => w.Append(h, 3, 0x11, 0, [3]));
    }

    [Fact]
    public void Checkpoints_should_be_stored_with_the_events_before_them()
    {
        IJournal j = Journal();
        using IJournalWriter w = j.StartRun(Start("r1"));
        Write(w, "cpu-0", 2);
        w.AppendCheckpoint(new Checkpoint(2, 20, 0xDEADBEEFCAFEF00D));
        Write(w, "cpu-0", 2, firstSeq: 3);
        w.AppendCheckpoint(new Checkpoint(4, 40, 42));
        w.Flush();
        Assert.Equal([new Checkpoint(2, 20, 0xDEADBEEFCAFEF00D), new Checkpoint(4, 40, 42)], j.ReadCheckpoints(w.Run));
    }

    [Fact]
    public void Writer_should_keep_an_atomic_write_together_across_a_batch_boundary()
    {
        IJournal j = Journal();
        using IJournalWriter w = j.StartRun(Start("r1"));
        int h = w.RegisterStream("cpu-0");
        // Fill close to a batch boundary, then write an atomic group that straddles it.
        long seq = 0;
        for (int i = 0; i < 4090; i++) w.Append(h, ++seq, 0x11, seq, [1]);
        w.BeginAtomic(10);
        for (int i = 0; i < 10; i++) w.Append(h, ++seq, 0x11, seq, [2]);
        long committedInside = w.CommittedEvents;
        w.EndAtomic();
        w.Flush();
        // Either nothing or exactly the rows before the group are committed: never part of the group.
        Assert.True(committedInside is 0 or 4090, $"committed {committedInside} inside the atomic group");
        Assert.Equal(seq, ReadAll(j.ReadMessages(w.Run.PersistenceIdOf("cpu-0"), 1, long.MaxValue, long.MaxValue)).Count);
    }

    [Fact]
    public void Writer_should_commit_an_atomic_write_that_ends_exactly_at_a_batch_boundary()
    {
        IJournal j = Journal();
        using IJournalWriter w = j.StartRun(Start("r1"));
        int h = w.RegisterStream("cpu-0");
        // Batches hold 4096 (memory) or 8192 (SQL) rows: groups of two end exactly at 4096 and at 8192.
        long seq = 0;
        foreach (long boundary in new long[] { 4096, 8192 })
        {
            while (seq < boundary - 2) w.Append(h, ++seq, 0x11, seq, [1]);
            w.BeginAtomic(2);
            w.Append(h, ++seq, 0x11, seq, [2]);
            w.Append(h, ++seq, 0x11, seq, [2]);
            w.EndAtomic();
        }
        w.Flush();
        Assert.Equal(8192, ReadAll(j.ReadMessages(w.Run.PersistenceIdOf("cpu-0"), 1, long.MaxValue, long.MaxValue)).Count);
    }

    [Fact]
    public void Writer_should_refuse_an_atomic_write_larger_than_a_batch()
    {
        IJournal j = Journal();
        using IJournalWriter w = j.StartRun(Start("r1"));
        Assert.Throws<NotSupportedException>(() => w.BeginAtomic(1_000_000));
    }

    [Fact]
    public void Writers_of_two_runs_should_not_see_each_others_streams()
    {
        IJournal j = Journal();
        using IJournalWriter a = j.StartRun(Start("a"));
        using IJournalWriter b = j.StartRun(Start("b"));
        Write(a, "cpu-0", 3);
        Write(b, "cpu-0", 2);
        a.Flush();
        b.Flush();
        Assert.NotEqual(a.Run.RunNo, b.Run.RunNo);
        Assert.Equal(3, j.ReadHighestSequenceNr(a.Run.PersistenceIdOf("cpu-0")));
        Assert.Equal(2, j.ReadHighestSequenceNr(b.Run.PersistenceIdOf("cpu-0")));
    }

    [Fact]
    public void DeleteRun_should_remove_the_run_and_only_it_so_it_can_be_written_again()
    {
        IJournal j = Journal();
        RunInfo keep, gone;
        using (IJournalWriter w = j.StartRun(Start("keep"))) { Write(w, "cpu-0", 4); w.Flush(); keep = w.Run; }
        using (IJournalWriter w = j.StartRun(Start("gone")))
        {
            Write(w, "cpu-0", 6);
            w.AppendCheckpoint(new Checkpoint(6, 60, 1));
            w.Flush();
            gone = w.Run;
        }
        j.DeleteRun(gone);
        Assert.Null(j.FindRun("gone"));
        Assert.Empty(ReadAll(j.ReadRun(gone)));
        Assert.Empty(j.ReadCheckpoints(gone));
        Assert.Equal(4, ReadAll(j.ReadRun(keep)).Count);
        using IJournalWriter again = j.StartRun(Start("gone"));
        Write(again, "cpu-0", 2);
        again.Flush();
        Assert.Equal(2, ReadAll(j.ReadRun(again.Run)).Count);
    }
}
