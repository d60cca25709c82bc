using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

public sealed class ScenarioCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Scenario(string name) => Path.Combine(FindRoot(), "config", "scenarios", name);

    private static string FindRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Twin.sln"))) dir = Path.GetDirectoryName(dir);
        return dir!;
    }

    [Fact]
    public void run_scenario_json_lists_the_syscalls_in_issue_order_and_replays()
    {
        var run = TwinProcess.Run(_dir.Path, "run", "--scenario", Scenario("selftest-single-thread.json"), "--journal", "sqlite:s.db", "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var calls = run.Json.GetProperty("syscalls").EnumerateArray().ToList();
        Assert.Equal(18, calls.Count);
        Assert.Equal("GET_REGISTRATIONS", calls[0].GetProperty("cmd").GetString());
        Assert.Equal(0, calls[0].GetProperty("ret").GetInt64());
        Assert.Equal(-1, calls[4].GetProperty("ret").GetInt64());
        Assert.Equal("EPERM", calls[4].GetProperty("errno").GetString());
        Assert.Equal(84, calls[17].GetProperty("ret").GetInt64());

        var reexecute = TwinProcess.Run(_dir.Path, "replay", "sqlite:s.db", "--reexecute", "--json");
        Assert.True(reexecute.ExitCode == 0, reexecute.Stderr + reexecute.Stdout);
        Assert.Equal(run.Json.GetProperty("stateHash").GetString(), reexecute.Json.GetProperty("stateHash").GetString());
    }

    [Fact]
    public void a_failed_expectation_exits_1_with_the_step_named()
    {
        var run = TwinProcess.Run(_dir.Path, "run", "--scenario", Scenario("selftest-single-thread.json"), "--set", "nohzFull=true", "--journal", "memory:", "--json");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains(run.Json.GetProperty("violations").EnumerateArray(),
            v => v.GetProperty("property").GetString() == "EXPECT" && v.GetProperty("message").GetString()!.Contains("step 1"));
    }

    [Fact]
    public void a_bug_switch_and_an_arch_are_taken_from_flags()
    {
        var run = TwinProcess.Run(_dir.Path, "run", "--arch", "riscv", "--bug", "B12", "--bug", "b4", "--events", "2000", "--journal", "sqlite:b.db", "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var bad = TwinProcess.Run(_dir.Path, "run", "--bug", "B99", "--journal", "memory:");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("'B99' is not a bug switch", bad.Stderr);
        var arch = TwinProcess.Run(_dir.Path, "run", "--arch", "sparc", "--journal", "memory:");
        Assert.Equal(2, arch.ExitCode);
        Assert.Contains("not an architecture profile", arch.Stderr);
    }
}
