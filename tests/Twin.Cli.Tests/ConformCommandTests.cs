using System.Text.Json;
using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

/// <summary>twin conform: exit 0 when the model does what the recorded kernel did, 1 at a divergence, 2 for bad input.</summary>
public sealed class ConformCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void a_real_recording_conforms_and_its_json_counts_each_aspect()
    {
        var conform = TwinProcess.Run(_dir.Path, "conform", TwinProcess.Repo("replays/ftrace/mix-2t-global.trace"), "--json");
        Assert.True(conform.ExitCode == 0, conform.Stderr);
        JsonElement j = conform.Json;
        Assert.Equal(139, j.GetProperty("calls").GetInt64());
        Assert.Equal(0, j.GetProperty("divergences").GetArrayLength());
        Assert.Equal(0, j.GetProperty("violations").GetArrayLength());
        Assert.Equal(139, j.GetProperty("aspects").GetProperty("IPI targets").GetProperty("agree").GetInt64());
        Assert.True(j.GetProperty("modelRuns").GetInt32() > 0);
    }

    [Fact]
    public void a_global_expedited_that_skips_a_registered_process_diverges_with_exit_1()
    {
        string[] lines = File.ReadAllLines(TwinProcess.Repo("replays/ftrace/mix-2t-global.trace"));
        int queued = Array.FindIndex(lines, l => l.Contains("callsite=membarrier_global_expedited", StringComparison.Ordinal) && l.Contains("csd_queue_cpu", StringComparison.Ordinal));
        Assert.True(queued >= 0);
        string copy = Path.Combine(_dir.Path, "mutated.trace");
        File.WriteAllLines(copy, lines.Where((_, i) => i != queued));
        File.Copy(TwinProcess.Repo("replays/ftrace/mix-2t-global.trace.tasks"), copy + ".tasks");
        var conform = TwinProcess.Run(_dir.Path, "conform", copy, "--json");
        Assert.Equal(1, conform.ExitCode);
        JsonElement d = Assert.Single(conform.Json.GetProperty("divergences").EnumerateArray());
        Assert.Equal("IPI targets", d.GetProperty("aspect").GetString());
        Assert.Equal("GLOBAL_EXPEDITED", d.GetProperty("command").GetString());
        Assert.Equal("IPI targets", Assert.Single(conform.Json.GetProperty("violations").EnumerateArray()).GetProperty("property").GetString());
    }

    [Theory]
    [InlineData("no-such.trace")]
    [InlineData("--arch", "sparc")]
    public void bad_input_is_one_line_and_exit_2(params string[] args)
    {
        string[] full = args[0] == "--arch" ? ["conform", TwinProcess.Repo("replays/ftrace/mb-3t.trace"), .. args] : ["conform", .. args];
        var conform = TwinProcess.Run(_dir.Path, full);
        Assert.Equal(2, conform.ExitCode);
        Assert.Single(conform.Stderr.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", conform.Stderr);
    }
}
