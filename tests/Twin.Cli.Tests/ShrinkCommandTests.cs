using System.Text.Json;
using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

/// <summary>twin shrink end to end: soak finds a bug, shrink writes a scenario, run fails on it, export draws it.</summary>
public sealed class ShrinkCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void a_soak_failure_shrinks_to_a_scenario_file_that_twin_run_fails_on()
    {
        var soak = TwinProcess.Run(_dir.Path, "soak", "--seeds", "1..200", "--events", "100000", "--bug", "B8b", "--first", "--workers", "1", "--no-swarm",
            "--journal", "sqlite:soak.db");
        Assert.True(soak.ExitCode == 1, soak.Stderr);

        var shrink = TwinProcess.Run(_dir.Path, "shrink", "sqlite:soak.db", "--output", "min.json", "--json");
        Assert.True(shrink.ExitCode == 0, shrink.Stderr);
        using JsonDocument summary = JsonDocument.Parse(shrink.Stdout);
        JsonElement s = summary.RootElement;
        Assert.Equal("min.json", s.GetProperty("scenario").GetString());
        Assert.True(s.GetProperty("steps").GetInt32() < s.GetProperty("originalSteps").GetInt32());
        string property = s.GetProperty("property").GetString()!;

        var run = TwinProcess.Run(_dir.Path, "run", "--scenario", "min.json", "--journal", "sqlite:min.db", "--json");
        Assert.Equal(1, run.ExitCode);
        using JsonDocument result = JsonDocument.Parse(run.Stdout);
        Assert.Contains(result.RootElement.GetProperty("violations").EnumerateArray(), v => v.GetProperty("property").GetString() == property);

        // The shrunk counterexample, as a person would look at it.
        var export = TwinProcess.Run(_dir.Path, "export", "sqlite:min.db", "--html", "min.html");
        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.Contains(property, File.ReadAllText(_dir.File("min.html")));
        HeadlessChromium.Screenshot(_dir.File("min.html"), _dir.File("min.png"), _dir.File("chrome-profile"));
        HeadlessChromium.AssertDrawn(_dir.File("min.png"));
    }

    [Fact]
    public void a_run_that_violates_nothing_is_bad_input_and_writes_no_file()
    {
        var run = TwinProcess.Run(_dir.Path, "run", "--events", "20000", "--journal", "sqlite:ok.db", "--run-id", "fine");
        Assert.Equal(0, run.ExitCode);
        var shrink = TwinProcess.Run(_dir.Path, "shrink", "sqlite:ok.db", "--output", "min.json");
        Assert.Equal(2, shrink.ExitCode);
        Assert.Contains("run 'fine' cannot be shrunk: the run violates nothing", shrink.Stderr);
        Assert.DoesNotContain("   at ", shrink.Stderr);
        Assert.False(File.Exists(_dir.File("min.json")));
    }

    [Fact]
    public void a_zero_run_budget_is_bad_input()
    {
        var shrink = TwinProcess.Run(_dir.Path, "shrink", "sqlite:none.db", "--max-runs", "0");
        Assert.Equal(2, shrink.ExitCode);
        Assert.Contains("--max-runs 0", shrink.Stderr);
    }
}
