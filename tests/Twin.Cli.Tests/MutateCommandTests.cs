using System.Text.Json;
using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

/// <summary>twin mutate as a user runs it: a small plan, its verdicts and reasons, resuming from the journal, bad input.</summary>
public sealed class MutateCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string[] s_small =
    [
        "mutate", "--sites", "membarrier.a,switch_mm.cr3.mb,leave_mm.cr3.mb", "--arch", "x86_64", "--seeds", "1..3", "--events", "60000",
        "--litmus-seeds", "1..4", "--workers", "2",
    ];

    private static JsonElement Row(JsonElement json, string site) =>
        json.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("site").GetString() == site);

    [Fact]
    public void a_small_plan_kills_what_a_checker_catches_explains_the_survivor_and_resumes_from_its_journal()
    {
        string journal = $"sqlite:{_dir.File("m.db")}";
        string[] args = [.. s_small, "--litmus", TwinProcess.Repo("config/scenarios/litmus"), "--journal", journal, "--json"];
        var r = TwinProcess.Run(_dir.Path, args);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        JsonElement json = r.Json;
        Assert.Equal(3, json.GetProperty("removals").GetInt32());
        Assert.Equal(0, json.GetProperty("unexplained").GetInt32());

        JsonElement a = Row(json, "membarrier.a");
        Assert.Equal("killed", a.GetProperty("verdict").GetString());
        Assert.Contains("P-PE", a.GetProperty("kill").GetProperty("properties").EnumerateArray().Select(p => p.GetString()));
        Assert.StartsWith(journal, a.GetProperty("kill").GetProperty("journal").GetString()); // the failing run is kept, for twin shrink

        // The CR3 write's barrier: only the pairing checker catches its removal (scenario F shows why).
        JsonElement cr3 = Row(json, "switch_mm.cr3.mb");
        Assert.Equal("killed", cr3.GetProperty("verdict").GetString());
        Assert.Equal("checker", cr3.GetProperty("kill").GetProperty("evidence").GetString());
        Assert.Contains("switch_mm_irqs_off()'s CR3 write", cr3.GetProperty("kill").GetProperty("message").GetString());

        JsonElement leave = Row(json, "leave_mm.cr3.mb");
        Assert.Equal("survived", leave.GetProperty("verdict").GetString());
        Assert.True(leave.GetProperty("explained").GetBoolean());
        Assert.True(leave.GetProperty("reached").GetInt64() > 0);
        Assert.Contains("init_mm", leave.GetProperty("reasonGiven").GetString());

        // The same command again reads the campaigns back: same verdicts, same seeds.
        var again = TwinProcess.Run(_dir.Path, args);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal(a.GetProperty("kill").GetProperty("seed").GetInt64(), Row(again.Json, "membarrier.a").GetProperty("kill").GetProperty("seed").GetInt64());
        // --resume finds the plan in the journal.
        var resumed = TwinProcess.Run(_dir.Path, "mutate", "--resume", journal, "--litmus", "none", "--json");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Equal(new HashSet<string?> { "membarrier.a", "switch_mm.cr3.mb", "leave_mm.cr3.mb" },
            resumed.Json.GetProperty("results").EnumerateArray().Select(x => x.GetProperty("site").GetString()).ToHashSet());
    }

    [Fact]
    public void a_removal_never_reached_is_not_explained_and_the_exit_code_says_so()
    {
        // 1,000 events: no CPU has gone offline and come back yet, so cpu_boot is never reached.
        var r = TwinProcess.Run(_dir.Path, "mutate", "--sites", "cpu_boot", "--arch", "arm64", "--seeds", "1..1", "--events", "1000", "--litmus", "none");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("never reached", r.Stdout);
        Assert.Contains("1 unexplained", r.Stdout);
    }

    [Theory]
    [InlineData("--sites", "membarrier.z", "--sites: 'membarrier.z' is not a site")]
    [InlineData("--arch", "sparc", "--arch: 'sparc' is not a profile")]
    [InlineData("--litmus", "/nonexistent", "--litmus /nonexistent: no such folder")]
    [InlineData("--seeds", "5..1", "--seeds '5..1'")]
    public void bad_input_is_one_line_and_exit_2(string flag, string value, string message)
    {
        var r = TwinProcess.Run(_dir.Path, "mutate", flag, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void resuming_a_journal_without_a_mutation_run_is_bad_input()
    {
        var r = TwinProcess.Run(_dir.Path, "mutate", "--resume", $"sqlite:{_dir.File("none.db")}");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("twin mutate:", r.Stderr);
    }
}
