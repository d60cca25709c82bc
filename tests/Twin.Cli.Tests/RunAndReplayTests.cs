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
}
