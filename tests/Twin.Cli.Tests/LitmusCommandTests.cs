namespace Twin.Cli.Tests;

/// <summary>twin litmus: exit 0 when the forbidden outcome never comes up, 1 when it does.</summary>
public sealed class LitmusCommandTests
{
    [Fact]
    public void scenario_a_holds_with_the_barriers_and_fails_without_membarriers_entry_barrier()
    {
        string a = TwinProcess.Repo("config/scenarios/litmus/A.json");
        var ok = TwinProcess.Run(Path.GetTempPath(), "litmus", a, "--seeds", "1..100", "--json");
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Equal(0, ok.Json.GetProperty("forbiddenObserved").GetInt32());

        var broken = TwinProcess.Run(Path.GetTempPath(), "litmus", a, "--seeds", "1..200", "--omit", "MembarrierEntry");
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("Observation Sometimes", broken.Stdout);
        Assert.Contains("(forbidden)", broken.Stdout);
    }

    [Fact]
    public void an_unknown_barrier_is_bad_input()
    {
        var r = TwinProcess.Run(Path.GetTempPath(), "litmus", TwinProcess.Repo("config/scenarios/litmus/A.json"), "--omit", "Fence");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("'Fence' is neither a site", r.Stderr);
        Assert.Contains("--omit Fence", r.Stderr);
    }
}
