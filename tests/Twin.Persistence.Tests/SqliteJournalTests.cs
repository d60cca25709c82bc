using Microsoft.Data.Sqlite;
using Twin.Persistence.Sqlite;

namespace Twin.Persistence.Tests;

/// <summary>Temporary directory per test class instance, removed afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "twin-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a finalizer-bound handle; the OS temp cleaner gets it.
        }
    }
}

public sealed class SqliteJournalTests : JournalContract
{
    private readonly TempDir _dir = new();
    private int _n;

    protected override IJournal CreateJournal() => SqliteJournal.Open(_dir.File($"j{_n++}.db"), create: true);

    public override void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Events_should_be_in_the_plugins_journal_table_and_nowhere_else()
    {
        string path = _dir.File("layout.db");
        using (SqliteJournal j = SqliteJournal.Open(path, create: true))
        {
            using IJournalWriter w = j.StartRun(Start("r1"));
            Write(w, "cpu-0", 7);
            w.Flush();
        }
        using var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        c.Open();
        Assert.Equal(DbRows.PluginJournalColumns, DbRows.FirstColumn(c, "SELECT name FROM pragma_table_info('journal') ORDER BY name"));
        Assert.Equal(["created", "manifest", "persistence_id", "sequence_number", "serializer_id", "snapshot"], DbRows.FirstColumn(c, "SELECT name FROM pragma_table_info('snapshot') ORDER BY name"));
        Assert.Equal(["7"], DbRows.FirstColumn(c, "SELECT COUNT(*) FROM journal WHERE tags = ';' || (SELECT 'run-' || run_no FROM runs) || ';' AND identifier = 7418"));
        // Twin's own tables hold runs, checkpoints and manifest names, no event.
        Assert.Equal(DbRows.JournalTables,
            DbRows.FirstColumn(c, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"));
    }

    [Fact]
    public void Committed_rows_should_survive_reopening_the_file()
    {
        string path = _dir.File("reopen.db");
        using (SqliteJournal j = SqliteJournal.Open(path, create: true))
        {
            using IJournalWriter w = j.StartRun(Start("r1"));
            Write(w, "cpu-0", 100);
            w.AppendCheckpoint(new Checkpoint(100, 1000, 77));
            w.Flush();
        }
        using SqliteJournal again = SqliteJournal.Open(path, create: false);
        RunInfo run = again.FindRun("r1")!;
        Assert.Equal(RunStatus.Running, run.Status);
        Assert.Equal(100, ReadAll(again.ReadRun(run)).Count);
        Assert.Equal([new Checkpoint(100, 1000, 77)], again.ReadCheckpoints(run));
    }

    [Fact]
    public void Open_should_refuse_a_file_that_is_not_an_sqlite_database()
    {
        string path = _dir.File("junk.db");
        File.WriteAllText(path, "this is a text file, not a journal\n");
        var e = Assert.Throws<JournalFormatException>(() => SqliteJournal.Open(path, create: false));
        Assert.Contains("not a Twin journal", e.Message);
        Assert.Contains("junk.db", e.Message);
        Assert.Equal("this is a text file, not a journal\n", File.ReadAllText(path));
    }

    [Fact]
    public void Open_should_refuse_an_sqlite_database_of_another_program()
    {
        string path = _dir.File("other.db");
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using SqliteCommand cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE customers(id INTEGER)";
            cmd.ExecuteNonQuery();
        }
        var e = Assert.Throws<JournalFormatException>(() => SqliteJournal.Open(path, create: true));
        Assert.Contains("twin_meta", e.Message);
    }

    [Fact]
    public void Open_for_reading_should_refuse_a_missing_file_without_creating_it()
    {
        string path = _dir.File("missing.db");
        var e = Assert.Throws<JournalStorageException>(() => SqliteJournal.Open(path, create: false));
        Assert.Contains("does not exist", e.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Open_should_refuse_a_journal_of_a_newer_format_version()
    {
        string path = _dir.File("future.db");
        SqliteJournal.Open(path, create: true).Dispose();
        SqliteFile.Exec(path, "UPDATE twin_meta SET value = '99' WHERE key = 'version'");
        var e = Assert.Throws<JournalFormatException>(() => SqliteJournal.Open(path, create: false));
        Assert.Contains("version 99", e.Message);
    }

    [Theory]
    [InlineData("UPDATE journal SET message = x'0102' WHERE ordering = 3", "row check mismatch")]
    [InlineData("UPDATE journal SET message = x'' WHERE ordering = 3", "shorter than its check")]
    [InlineData("UPDATE journal SET message = 'text' WHERE ordering = 3", "wrong type")]
    [InlineData("UPDATE journal SET sequence_number = 33 WHERE ordering = 3", "row check mismatch")]
    [InlineData("UPDATE journal SET manifest = 'Twin.Kernel.Events.SchedSwitch' WHERE ordering = 3", "manifest 'Twin.Kernel.Events.SchedSwitch'")]
    [InlineData("UPDATE journal SET identifier = 1 WHERE ordering = 3", "not a Twin event: serializer identifier 1")]
    [InlineData("UPDATE journal SET identifier = NULL WHERE ordering = 3", "not a Twin event")]
    public void Reading_should_name_a_corrupted_row(string corruption, string expected)
    {
        string path = _dir.File("corrupt.db");
        RunInfo run;
        using (SqliteJournal j = SqliteJournal.Open(path, create: true))
        {
            using IJournalWriter w = j.StartRun(Start("r1"));
            Write(w, "cpu-0", 5);
            w.Flush();
            run = w.Run;
        }
        SqliteFile.Exec(path, corruption);
        using SqliteJournal again = SqliteJournal.Open(path, create: false);
        using IJournalCursor cursor = again.ReadRun(run);
        Assert.True(cursor.MoveNext());
        Assert.True(cursor.MoveNext());
        var e = Assert.Throws<JournalCorruptException>(() => cursor.MoveNext());
        Assert.Contains("row 3", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Two_processes_should_not_both_write_one_run()
    {
        string path = _dir.File("shared.db");
        using SqliteJournal a = SqliteJournal.Open(path, create: true);
        using SqliteJournal b = SqliteJournal.Open(path, create: true);
        using IJournalWriter w = a.StartRun(Start("r1"));
        var e = Assert.Throws<JournalConflictException>(() => b.StartRun(Start("r1")));
        Assert.Contains("second writer", e.Message);
    }

    [Fact]
    public void A_full_disk_should_fail_the_writer_clearly_and_keep_every_committed_row()
    {
        string path = _dir.File("full.db");
        RunInfo run;
        using (SqliteJournal j = SqliteJournal.Open(path, create: true))
        {
            using IJournalWriter w = j.StartRun(Start("r1"));
            Write(w, "cpu-0", 50);
            w.Flush();
            run = w.Run;
        }
        long pages = new FileInfo(path).Length / 4096 + 64;
        using (SqliteJournal j = SqliteJournal.Open(path, create: false))
        {
            // SQLite's own cap on the file size: writes past it fail with SQLITE_FULL, as on a full disk.
            j.WriterPragmas = $"PRAGMA max_page_count = {pages}";
            using IJournalWriter w = j.StartRun(Start("r2"));
            int h = w.RegisterStream("cpu-0");
            var e = Assert.ThrowsAny<JournalException>(() =>
            {
                for (long s = 1; s <= 2_000_000; s++) w.Append(h, s, 0x11, s, Payload(s));
                w.Flush();
            });
            Assert.IsType<JournalStorageException>(e);
            Assert.Contains("disk is full", e.Message);
        }
        using SqliteJournal again = SqliteJournal.Open(path, create: false);
        Assert.Equal(50, ReadAll(again.ReadRun(run)).Count);
        RunInfo r2 = again.FindRun("r2")!;
        var rows = ReadAll(again.ReadRun(r2));
        Assert.Equal(Enumerable.Range(1, rows.Count).Select(i => (long)i), rows.Select(r => r.Seq));
    }
}
