using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

/// <summary>Every bad input: one clear line on stderr naming what and where, exit 2, no stack trace, nothing lost.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private TwinProcess.Result Twin(params string[] args) => TwinProcess.Run(_dir.Path, args);

    private static void AssertBadInput(TwinProcess.Result r, string expected)
    {
        Assert.Equal(2, r.ExitCode);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('[')).ToArray();
        Assert.Single(lines);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void an_unknown_flag() => AssertBadInput(Twin("run", "--frobnicate"), "'--frobnicate'");

    [Fact]
    public void an_unknown_verb() => AssertBadInput(Twin("fly"), "'fly'");

    [Fact]
    public void a_missing_config_file() => AssertBadInput(Twin("run", "--config", "absent.json"), "config file 'absent.json' does not exist");

    [Fact]
    public void a_malformed_config_file()
    {
        File.WriteAllText(_dir.File("bad.json"), "{ \"cpus\": ");
        AssertBadInput(Twin("run", "--config", "bad.json"), "config file 'bad.json' is not valid JSON");
    }

    [Fact]
    public void a_config_value_out_of_range()
    {
        File.WriteAllText(_dir.File("range.json"), "{ \"workload\": { \"registerProbability\": 3 } }");
        AssertBadInput(Twin("run", "--config", "range.json"), "workload.registerProbability = 3 is out of range (0..1)");
    }

    [Fact]
    public void a_flag_value_that_is_not_a_number()
    {
        TwinProcess.Result r = Twin("run", "--events", "abc");
        AssertBadInput(r, "Cannot parse argument 'abc' for option '--events' as a whole number");
        Assert.DoesNotContain("System.", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void a_flag_value_out_of_range() => AssertBadInput(Twin("run", "--cpus", "0"), "--cpus: cpus = 0 is out of range");

    [Fact]
    public void a_file_that_is_not_a_twin_journal()
    {
        File.WriteAllText(_dir.File("notes.db"), "shopping list\n");
        AssertBadInput(Twin("replay", "sqlite:notes.db"), "'notes.db' is not a Twin journal");
        Assert.Equal("shopping list\n", File.ReadAllText(_dir.File("notes.db")));
    }

    [Fact]
    public void a_missing_journal_is_not_created() 
    {
        AssertBadInput(Twin("replay", "sqlite:none.db"), "journal file 'none.db' does not exist");
        Assert.False(File.Exists(_dir.File("none.db")));
    }

    [Fact]
    public void a_corrupted_row_is_named()
    {
        Assert.Equal(0, Twin("run", "--events", "3000", "--journal", "sqlite:c.db").ExitCode);
        SqliteFile.Exec(_dir.File("c.db"), "UPDATE journal SET message = x'ffff' WHERE ordering = 1234");
        AssertBadInput(Twin("replay", "sqlite:c.db"), "journal row 1234");
    }

    [Fact]
    public void a_truncated_journal_file()
    {
        Assert.Equal(0, Twin("run", "--events", "20000", "--journal", "sqlite:t.db").ExitCode);
        using (FileStream f = File.OpenWrite(_dir.File("t.db"))) f.SetLength(20_000);
        AssertBadInput(Twin("replay", "sqlite:t.db"), "'t.db'");
    }

    [Fact]
    public void a_second_writer_on_the_same_run_is_refused_and_the_first_run_is_kept()
    {
        Assert.Equal(0, Twin("run", "--events", "5000", "--journal", "sqlite:w.db", "--run-id", "same").ExitCode);
        AssertBadInput(Twin("run", "--events", "5000", "--journal", "sqlite:w.db", "--run-id", "same"), "a second writer is refused");
        var replay = Twin("replay", "sqlite:w.db", "--run", "same", "--json");
        Assert.Equal(0, replay.ExitCode);
        Assert.Equal(5000, replay.Json.GetProperty("events").GetInt64(), tolerance: 10);
    }

    [Fact]
    public void an_unknown_run_id()
    {
        Assert.Equal(0, Twin("run", "--events", "100", "--journal", "sqlite:r.db").ExitCode);
        AssertBadInput(Twin("replay", "sqlite:r.db", "--run", "nope"), "has no run 'nope'");
    }

    [Fact]
    public void an_unreachable_postgres_server() =>
        AssertBadInput(Twin("run", "--events", "100", "--journal", "postgres:Host=127.0.0.1;Port=1;Timeout=2"), "cannot reach the PostgreSQL server");

    [Fact]
    public void a_postgres_uri_that_is_not_a_connection_string() =>
        AssertBadInput(Twin("replay", "postgres:Hots=db"), "not an Npgsql connection string");

    [Fact]
    public void a_second_writer_on_a_postgres_run_is_refused_and_the_first_run_is_kept()
    {
        string pg = "postgres:" + PostgresServer.FreshSchema();
        Assert.Equal(0, Twin("run", "--events", "5000", "--journal", pg, "--run-id", "same").ExitCode);
        AssertBadInput(Twin("run", "--events", "5000", "--journal", pg, "--run-id", "same"), "a second writer is refused");
        var replay = Twin("replay", pg, "--run", "same", "--json");
        Assert.Equal(0, replay.ExitCode);
        Assert.Equal(5000, replay.Json.GetProperty("events").GetInt64(), tolerance: 10);
    }

    [Fact]
    public void an_unknown_fault_kind() => AssertBadInput(Twin("run", "--fault", "teleport:cpu=1"), "--fault: fault 'teleport:cpu=1': unknown fault kind 'teleport'");

    [Fact]
    public void a_hotplug_fault_with_an_unknown_trigger() => AssertBadInput(Twin("soak", "--fault", "hotplug:cpu=1,on=boot"), "--fault: fault 'hotplug:cpu=1,on=boot': on = 'boot' is not a trigger (membarrier, shootdown)");

    [Fact]
    public void run_resume_with_config_options_is_bad_usage() => AssertBadInput(Twin("run", "--resume", "sqlite:x.db", "--seed", "3"), "--resume continues a run as stored");

    [Fact]
    public void run_resume_of_a_memory_journal() => AssertBadInput(Twin("run", "--resume", "memory:"), "a memory: journal lives only inside the process that wrote it");

    [Fact]
    public void resume_with_seeds_is_bad_usage() => AssertBadInput(Twin("soak", "--resume", "sqlite:x.db", "--seeds", "1..3"), "--resume continues a campaign as stored");
}
