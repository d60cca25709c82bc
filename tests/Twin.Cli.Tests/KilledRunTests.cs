using System.Diagnostics;
using System.Text.RegularExpressions;
using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

/// <summary>Runs killed with SIGKILL: the journal keeps every committed event, and --resume finishes the run as if never stopped.</summary>
public sealed class KilledRunTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

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
