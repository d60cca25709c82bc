using Twin.Persistence.Postgres;

namespace Twin.Persistence.Tests;

/// <summary>The journal contract against a real PostgreSQL server, plus what only a server can do wrong.</summary>
public sealed class PostgresJournalTests : JournalContract
{
    protected override IJournal CreateJournal() => PostgresJournal.Open(PostgresServer.FreshSchema(), create: true);

    [Fact]
    public void Committed_rows_should_survive_reopening_the_journal()
    {
        string cs = PostgresServer.FreshSchema();
        using (PostgresJournal j = PostgresJournal.Open(cs, create: true))
        {
            using IJournalWriter w = j.StartRun(Start("r1"));
            Write(w, "cpu-0", 10_000);
            w.AppendCheckpoint(new Checkpoint(10_000, 1000, 77));
            w.Flush();
        }
        using PostgresJournal again = PostgresJournal.Open(cs, create: false);
        RunInfo run = again.FindRun("r1")!;
        Assert.Equal(RunStatus.Running, run.Status);
        var rows = ReadAll(again.ReadRun(run));
        Assert.Equal(10_000, rows.Count);
        Assert.Equal(Payload(9_999), rows[9_998].Payload);
        Assert.Equal([new Checkpoint(10_000, 1000, 77)], again.ReadCheckpoints(run));
    }

    [Fact]
    public void Opening_a_schema_without_a_journal_for_reading_should_say_so()
    {
        var e = Assert.Throws<JournalFormatException>(() => PostgresJournal.Open(PostgresServer.FreshSchema(), create: false));
        Assert.Contains("not a Twin journal", e.Message);
    }

    [Fact]
    public void A_schema_holding_other_tables_named_journal_should_be_refused()
    {
        string cs = PostgresServer.FreshSchema();
        PostgresServer.Exec(cs, "CREATE TABLE journal(x int)");
        var e = Assert.Throws<JournalFormatException>(() => PostgresJournal.Open(cs, create: true));
        Assert.Contains("no twin_meta", e.Message);
    }

    [Fact]
    public void A_journal_of_another_version_should_be_refused_and_left_alone()
    {
        string cs = PostgresServer.FreshSchema();
        PostgresJournal.Open(cs, create: true).Dispose();
        PostgresServer.Exec(cs, "UPDATE twin_meta SET value = '99' WHERE key = 'version'");
        var e = Assert.Throws<JournalFormatException>(() => PostgresJournal.Open(cs, create: true));
        Assert.Contains("version 99", e.Message);
    }

    [Fact]
    public void An_unreachable_server_should_be_a_storage_error_naming_it()
    {
        var e = Assert.Throws<JournalUnavailableException>(() => PostgresJournal.Open("Host=127.0.0.1;Port=1;Timeout=2", create: true));
        Assert.Contains("Port=1", e.Message);
        Assert.Contains("cannot reach the PostgreSQL server", e.Message);
    }

    [Theory]
    [InlineData("Hots=x")]
    [InlineData("Port=5432")]
    public void A_bad_connection_string_should_be_a_format_error(string cs)
    {
        var e = Assert.Throws<JournalFormatException>(() => JournalUri.Open("postgres:" + cs, create: true));
        Assert.Contains("postgres:", e.Message);
    }

    [Fact]
    public void The_uri_shown_in_messages_should_not_carry_the_password()
    {
        string cs = PostgresServer.FreshSchema() + ";Password=hunter2";
        using PostgresJournal j = PostgresJournal.Open(cs, create: true);
        Assert.DoesNotContain("hunter2", j.Uri);
    }

    [Theory]
    [InlineData("UPDATE journal SET message = '\\x0102'::bytea WHERE sequence_number = 3", "row check mismatch")]
    [InlineData("UPDATE journal SET identifier = 1 WHERE sequence_number = 3", "not a Twin event: serializer identifier 1")]
    [InlineData("UPDATE journal SET manifest = 'x' WHERE sequence_number = 3", "manifest 'x'")]
    public void A_row_garbled_in_the_database_should_be_reported_by_ordering_when_read(string corruption, string expected)
    {
        string cs = PostgresServer.FreshSchema();
        using PostgresJournal j = PostgresJournal.Open(cs, create: true);
        RunInfo run;
        using (IJournalWriter w = j.StartRun(Start("r1")))
        {
            Write(w, "cpu-0", 5);
            w.Flush();
            run = w.Run;
        }
        PostgresServer.Exec(cs, corruption);
        var e = Assert.Throws<JournalCorruptException>(() => ReadAll(j.ReadRun(run)));
        Assert.Contains("#3", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Events_should_be_in_the_plugins_journal_table_and_nowhere_else()
    {
        string cs = PostgresServer.FreshSchema();
        using (PostgresJournal j = PostgresJournal.Open(cs, create: true))
        {
            using IJournalWriter w = j.StartRun(Start("r1"));
            Write(w, "cpu-0", 7);
            w.Flush();
        }
        string schema = new Npgsql.NpgsqlConnectionStringBuilder(cs).SearchPath!;
        using var c = new Npgsql.NpgsqlConnection(cs);
        c.Open();
        Assert.Equal(DbRows.PluginJournalColumns,
            DbRows.FirstColumn(c, $"SELECT column_name FROM information_schema.columns WHERE table_schema = '{schema}' AND table_name = 'journal' ORDER BY column_name"));
        Assert.Equal(["7"], DbRows.FirstColumn(c, "SELECT COUNT(*) FROM journal WHERE tags = ';run-' || (SELECT run_no FROM runs) || ';' AND identifier = 7418"));
        Assert.Equal(DbRows.JournalTables,
            DbRows.FirstColumn(c, $"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}' ORDER BY table_name"));
    }

    [Fact]
    public void Two_journals_opened_at_once_on_a_new_schema_should_both_work()
    {
        string cs = PostgresServer.FreshSchema();
        var opened = new PostgresJournal[4];
        Parallel.For(0, opened.Length, i => opened[i] = PostgresJournal.Open(cs, create: true));
        for (int i = 0; i < opened.Length; i++)
        {
            using IJournalWriter w = opened[i].StartRun(Start($"r{i}"));
            Write(w, "cpu-0", 3);
            w.Flush();
        }
        Assert.Equal(4, opened[0].ListRuns().Count);
        foreach (PostgresJournal j in opened) j.Dispose();
    }
}
