namespace Twin.Cli.Tests;

/// <summary>twin bench runs every figure end to end (how fast is the benchmark's business, not a test's).</summary>
public sealed class BenchCommandTests
{
    [Fact]
    public void bench_reports_every_figure_with_the_bare_loop_as_the_yardstick()
    {
        var r = TwinProcess.Run(Path.GetTempPath(), "bench", "--events", "20000", "--reps", "1", "--trace", TwinProcess.Repo("replays/ftrace/mb-3t.trace"), "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var figures = r.Json.GetProperty("figures").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f);
        Assert.Equal(8, figures.Count);
        Assert.DoesNotContain("simulate into PostgreSQL", figures.Keys);
        Assert.Equal(1.0, figures["bare seeded event loop"].GetProperty("ratioToBareLoop").GetDouble());
        Assert.All(figures.Values, f => Assert.True(f.GetProperty("value").GetDouble() > 0));
        Assert.Contains("bytes/event", figures["simulate into SQLite"].GetProperty("note").GetString());
        Assert.Matches("^[0-9]+ bytes/event allocated$", figures["soak run, events discarded, checkers on"].GetProperty("note").GetString());
        Assert.Equal("mb-3t.trace", figures["import + check a real trace"].GetProperty("note").GetString());
    }

    [Fact]
    public void bench_with_a_postgres_server_adds_the_postgres_figure()
    {
        string server = Twin.Persistence.Tests.PostgresServer.ConnectionString;
        var r = TwinProcess.Run(Path.GetTempPath(), "bench", "--events", "20000", "--reps", "1", "--postgres", server, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var names = r.Json.GetProperty("figures").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.Contains("simulate into PostgreSQL", names);
        Assert.Contains("read a run from SQLite through Akka.Persistence.Query, decoded", names);
    }

    [Fact]
    public void a_postgres_value_that_is_no_connection_string_is_bad_input()
    {
        var r = TwinProcess.Run(Path.GetTempPath(), "bench", "--events", "20000", "--postgres", "Host=x;Bogus Key=1");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--postgres", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void too_few_events_is_bad_input()
    {
        var r = TwinProcess.Run(Path.GetTempPath(), "bench", "--events", "10");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--events 10", r.Stderr);
    }
}
