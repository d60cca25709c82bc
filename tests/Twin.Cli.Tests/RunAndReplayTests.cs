using System.Diagnostics;
using System.Text.RegularExpressions;
using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

/// <summary>The done-criteria of the foundation issue, through the real command.</summary>
public sealed class RunAndReplayTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void run_twice_into_two_files_gives_one_state_hash_that_replay_and_reexecution_confirm()
    {
        var a = TwinProcess.Run(_dir.Path, "run", "--seed", "42", "--events", "200000", "--journal", "sqlite:runs/a.db", "--json");
        Assert.True(a.ExitCode == 0, a.Stderr);
        var b = TwinProcess.Run(_dir.Path, "run", "--seed", "42", "--events", "200000", "--journal", "sqlite:runs/b.db", "--json");
        Assert.Equal(0, b.ExitCode);
        string hash = a.Json.GetProperty("stateHash").GetString()!;
        Assert.Matches("^[0-9a-f]{16}$", hash);
        Assert.Equal(hash, b.Json.GetProperty("stateHash").GetString());
        // The run stops at the first message boundary at or after 200000 events; one message journals a few.
        Assert.InRange(a.Json.GetProperty("events").GetInt64(), 200000, 200050);
        Assert.Equal(0, a.Json.GetProperty("violations").GetArrayLength());
        Assert.True(a.Json.GetProperty("eventsPerSecond").GetDouble() > 0);
        // Two processes, one seed: the same events, byte for byte, in the same global order.
        List<string> rowsA = JournalRows(Path.Combine(_dir.Path, "runs/a.db"));
        Assert.Equal(a.Json.GetProperty("events").GetInt64(), rowsA.Count);
        Assert.Equal(rowsA, JournalRows(Path.Combine(_dir.Path, "runs/b.db")));
        // Where the events go changes nothing the run does.
        foreach (string elsewhere in new[] { "memory:", "none:" })
        {
            var c = TwinProcess.Run(_dir.Path, "run", "--seed", "42", "--events", "200000", "--journal", elsewhere, "--json");
            Assert.True(c.ExitCode == 0, c.Stderr);
            Assert.Equal(hash, c.Json.GetProperty("stateHash").GetString());
        }

        var replay = TwinProcess.Run(_dir.Path, "replay", "sqlite:runs/a.db", "--json");
        Assert.True(replay.ExitCode == 0, replay.Stderr);
        Assert.Equal(hash, replay.Json.GetProperty("stateHash").GetString());
        Assert.True(replay.Json.GetProperty("checkpoints").GetInt32() >= 2);

        var reexecute = TwinProcess.Run(_dir.Path, "replay", "sqlite:runs/a.db", "--reexecute", "--json");
        Assert.True(reexecute.ExitCode == 0, reexecute.Stderr);
        Assert.Equal(a.Json.GetProperty("events").GetInt64(), reexecute.Json.GetProperty("compared").GetInt64());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, reexecute.Json.GetProperty("difference").ValueKind);
        Assert.Equal(hash, reexecute.Json.GetProperty("stateHash").GetString());
    }

    /// <summary>Every journal row as "stream#seq manifest @ns payload-hex", in commit order (the run id, which names the run, left out).</summary>
    private static List<string> JournalRows(string path)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT persistence_id, sequence_number, manifest, created, message FROM journal ORDER BY ordering";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            string id = reader.GetString(0);
            rows.Add($"{id[(id.IndexOf('/') + 1)..]}#{reader.GetInt64(1)} {reader.GetInt64(2)} @{reader.GetInt64(3)} {Convert.ToHexString((byte[])reader[4])}");
        }
        return rows;
    }

    [Fact]
    public void a_run_into_postgres_replays_to_the_state_hash_of_the_same_run_into_sqlite()
    {
        string pg = "postgres:" + PostgresServer.FreshSchema();
        var intoPg = TwinProcess.Run(_dir.Path, "run", "--seed", "9", "--events", "100000", "--journal", pg, "--json");
        Assert.True(intoPg.ExitCode == 0, intoPg.Stderr);
        var intoSqlite = TwinProcess.Run(_dir.Path, "run", "--seed", "9", "--events", "100000", "--journal", "sqlite:runs/p.db", "--json");
        string hash = intoSqlite.Json.GetProperty("stateHash").GetString()!;
        Assert.Equal(hash, intoPg.Json.GetProperty("stateHash").GetString());

        var replay = TwinProcess.Run(_dir.Path, "replay", pg, "--json");
        Assert.True(replay.ExitCode == 0, replay.Stderr);
        Assert.Equal(hash, replay.Json.GetProperty("stateHash").GetString());
        Assert.Equal(intoPg.Json.GetProperty("events").GetInt64(), replay.Json.GetProperty("events").GetInt64());
        var check = TwinProcess.Run(_dir.Path, "check", pg, "--json");
        Assert.True(check.ExitCode == 0, check.Stderr);
    }

    [Fact]
    public void a_run_killed_with_SIGKILL_leaves_a_journal_with_every_reported_event_and_no_torn_row()
    {
        using Process p = Process.Start(TwinProcess.StartInfo(_dir.Path, "run", "--seed", "7", "--events", "1000000000", "--journal", "sqlite:runs/k.db"))!;
        _ = p.StandardOutput.ReadToEndAsync();
        long reported = 0;
        var committed = new Regex(@"events, ([\d,]+) committed");
        var deadline = Stopwatch.StartNew();
        // Wait for two progress lines and a committed checkpoint's worth of events (one every
        // 100 000), so the kill lands in the middle of steady group commits.
        int lines = 0;
        while ((lines < 2 || reported < 150_000) && deadline.Elapsed < TimeSpan.FromMinutes(2))
        {
            string? line = p.StandardError.ReadLine();
            if (line is null) break;
            Match m = committed.Match(line);
            if (!m.Success) continue;
            reported = long.Parse(m.Groups[1].Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture);
            lines++;
        }
        p.Kill(entireProcessTree: true); // SIGKILL on Linux
        p.WaitForExit();
        Assert.True(lines >= 2, $"{lines} progress lines");
        Assert.True(reported >= 150_000, $"{reported} events reported committed");

        var replay = TwinProcess.Run(_dir.Path, "replay", "sqlite:runs/k.db", "--json");
        Assert.True(replay.ExitCode == 0, replay.Stderr);
        Assert.True(replay.Json.GetProperty("events").GetInt64() >= reported,
            $"replayed {replay.Json.GetProperty("events").GetInt64()} events, {reported} were reported committed");
        Assert.True(replay.Json.GetProperty("checkpoints").GetInt32() >= 1);
        Assert.Contains("did not finish", replay.Stderr);

        var reexecute = TwinProcess.Run(_dir.Path, "replay", "sqlite:runs/k.db", "--reexecute", "--json");
        Assert.True(reexecute.ExitCode == 0, reexecute.Stderr + reexecute.Stdout);
        Assert.Equal(replay.Json.GetProperty("events").GetInt64(), reexecute.Json.GetProperty("compared").GetInt64());
    }

    /// <summary>Starts a run of <paramref name="events"/> events into runs/DB and kills it (SIGKILL) once it reported committed events.</summary>
    private long RunAndKill(string db, long events)
    {
        using Process p = Process.Start(TwinProcess.StartInfo(_dir.Path, "run", "--seed", "7", "--events", events.ToString(System.Globalization.CultureInfo.InvariantCulture), "--journal", $"sqlite:runs/{db}", "--run-id", "r"))!;
        _ = p.StandardOutput.ReadToEndAsync();
        var committed = new Regex(@"events, ([\d,]+) committed");
        long reported = 0;
        var deadline = Stopwatch.StartNew();
        while (reported == 0 && deadline.Elapsed < TimeSpan.FromMinutes(2))
        {
            string? line = p.StandardError.ReadLine();
            if (line is null) break;
            Match m = committed.Match(line);
            if (m.Success) reported = long.Parse(m.Groups[1].Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture);
        }
        p.Kill(entireProcessTree: true);
        p.WaitForExit();
        return reported;
    }

    [Fact]
    public void a_killed_run_resumed_ends_as_the_uninterrupted_run_with_no_event_twice()
    {
        long reported = RunAndKill("k.db", 1_500_000);
        Assert.InRange(reported, 1, 1_499_999);
        var resumed = TwinProcess.Run(_dir.Path, "run", "--resume", "sqlite:runs/k.db", "--json");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("resumed after", resumed.Stderr);
        var whole = TwinProcess.Run(_dir.Path, "run", "--seed", "7", "--events", "1500000", "--journal", "sqlite:runs/u.db", "--run-id", "r", "--json");
        Assert.True(whole.ExitCode == 0, whole.Stderr);
        Assert.Equal(whole.Json.GetProperty("stateHash").GetString(), resumed.Json.GetProperty("stateHash").GetString());
        Assert.Equal(whole.Json.GetProperty("events").GetInt64(), resumed.Json.GetProperty("events").GetInt64());
        // Every row once, every checkpoint verified: replay reads the resumed journal as a whole run.
        var replay = TwinProcess.Run(_dir.Path, "replay", "sqlite:runs/k.db", "--json");
        Assert.True(replay.ExitCode == 0, replay.Stderr);
        Assert.Equal(whole.Json.GetProperty("events").GetInt64(), replay.Json.GetProperty("events").GetInt64());
        Assert.Equal(whole.Json.GetProperty("stateHash").GetString(), replay.Json.GetProperty("stateHash").GetString());
        // Finished now: nothing left to resume.
        var again = TwinProcess.Run(_dir.Path, "run", "--resume", "sqlite:runs/k.db");
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("holds no run left running", again.Stderr);
    }

    [Fact]
    public void a_resume_whose_re_execution_differs_from_the_stored_events_stops_and_writes_nothing()
    {
        Assert.True(RunAndKill("t.db", 1_500_000) > 0);
        string path = Path.Combine(_dir.Path, "runs", "t.db");
        long rows;
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            // A build whose kernel steps take other times makes other events from the same seed:
            // stand in for it by changing the stored config's stepNsMax.
            using var write = c.CreateCommand();
            write.CommandText = "UPDATE runs SET config = replace(config, '\"stepNsMax\":500', '\"stepNsMax\":499')";
            Assert.Equal(1, write.ExecuteNonQuery());
            using var count = c.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM journal";
            rows = (long)count.ExecuteScalar()!;
        }
        var resumed = TwinProcess.Run(_dir.Path, "run", "--resume", "sqlite:runs/t.db");
        Assert.Equal(2, resumed.ExitCode);
        Assert.Contains("cannot be continued (nothing was written)", resumed.Stderr);
        Assert.DoesNotContain("   at ", resumed.Stderr);
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM journal";
            Assert.Equal(rows, (long)cmd.ExecuteScalar()!);
        }
    }
}
