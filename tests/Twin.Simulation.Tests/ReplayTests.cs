using Microsoft.Data.Sqlite;
using Twin.Persistence;
using Twin.Persistence.Sqlite;
using Twin.Persistence.Tests;
using Twin.Simulation.Config;
using Twin.Simulation.Replay;
using Twin.Simulation.Running;

namespace Twin.Simulation.Tests;

public sealed class ReplayTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static TwinConfig Config(long events) =>
        ConfigLoader.Load(null, [("seed", "42", "t"), ("run.events", events.ToString(System.Globalization.CultureInfo.InvariantCulture), "t"), ("journal.checkpointEveryEvents", "5000", "t")]);

    private (SqliteJournal Journal, SimulationResult Result) RunInto(string file, long events = 40_000)
    {
        SqliteJournal journal = SqliteJournal.Open(_dir.File(file), create: true);
        return (journal, SimulationRunner.Run(Config(events), journal, "r"));
    }

    [Fact]
    public void replay_rebuilds_the_state_hash_of_the_run_and_verifies_every_checkpoint()
    {
        var (journal, run) = RunInto("a.db");
        using (journal)
        {
            SimulationResult replayed = RunReplay.Replay(journal, journal.FindRun("r")!);
            Assert.Equal(run.StateHash, replayed.StateHash);
            Assert.Equal(run.Events, replayed.Events);
            Assert.Equal(journal.ReadCheckpoints(journal.FindRun("r")!).Count, replayed.Checkpoints);
            Assert.True(replayed.Checkpoints >= 8);
            Assert.Empty(replayed.Violations);
        }
    }

    [Fact]
    public void the_same_run_into_another_file_has_the_same_state_hash()
    {
        var (a, ra) = RunInto("a.db");
        var (b, rb) = RunInto("b.db");
        a.Dispose();
        b.Dispose();
        Assert.Equal(ra.StateHash, rb.StateHash);
    }

    [Fact]
    public void reexecution_agrees_event_for_event()
    {
        var (journal, run) = RunInto("a.db");
        using (journal)
        {
            ReexecutionResult r = Reexecution.Reexecute(journal, journal.FindRun("r")!);
            Assert.Null(r.Difference);
            Assert.Equal(run.Events, r.Compared);
            Assert.Equal(run.StateHash, r.Rerun.StateHash);
        }
    }

    [Fact]
    public void reexecution_reports_the_first_event_that_differs()
    {
        var (journal, run) = RunInto("a.db");
        journal.Dispose();
        string path = _dir.File("a.db");
        // Pretend the run was recorded with another seed: the re-run diverges early.
        SqliteFile.Exec(path, "UPDATE runs SET config = replace(config, '\"seed\":42', '\"seed\":43')");
        using SqliteJournal again = SqliteJournal.Open(path, create: false);
        ReexecutionResult r = Reexecution.Reexecute(again, again.FindRun("r")!);
        Assert.NotNull(r.Difference);
        Assert.Contains("differs", r.Difference);
        Assert.True(r.Compared < run.Events);
    }

    [Fact]
    public void replay_names_a_corrupted_row()
    {
        var (journal, _) = RunInto("a.db", events: 2_000);
        journal.Dispose();
        string path = _dir.File("a.db");
        SqliteFile.Exec(path, "UPDATE journal SET message = x'0a0b0c' WHERE ordering = 100");
        using SqliteJournal again = SqliteJournal.Open(path, create: false);
        var e = Assert.Throws<JournalCorruptException>(() => RunReplay.Replay(again, again.FindRun("r")!));
        Assert.Contains("row 100", e.Message);
    }

    [Fact]
    public void replay_refuses_an_event_version_this_build_cannot_read()
    {
        var (journal, _) = RunInto("a.db", events: 2_000);
        journal.Dispose();
        string path = _dir.File("a.db");
        // Rewrite row 50 as version 15 of its event, with a valid row check, as a much newer Twin would.
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using SqliteCommand read = c.CreateCommand();
            read.CommandText = "SELECT manifest, sequence_number, message FROM journal WHERE ordering = 50";
            using SqliteDataReader r = read.ExecuteReader();
            r.Read();
            int manifest = r.GetInt32(0);
            long seq = r.GetInt64(1);
            byte[] stored = (byte[])r.GetValue(2);
            r.Close();
            int v15 = (manifest & ~0xF) | 15;
            byte[] resealed = new byte[stored.Length];
            stored.AsSpan(0, stored.Length - 2).CopyTo(resealed);
            Twin.Persistence.Codec.RowCheck.Seal(resealed, stored.Length - 2, v15, seq);
            using SqliteCommand write = c.CreateCommand();
            write.CommandText = "UPDATE journal SET manifest = $m, message = $p WHERE ordering = 50";
            write.Parameters.AddWithValue("$m", v15);
            write.Parameters.AddWithValue("$p", resealed);
            write.ExecuteNonQuery();
        }
        using SqliteJournal again = SqliteJournal.Open(path, create: false);
        var e = Assert.Throws<JournalFormatException>(() => RunReplay.Replay(again, again.FindRun("r")!));
        Assert.Contains("stored as v15", e.Message);
        Assert.Contains("row 50", e.Message);
    }
}
