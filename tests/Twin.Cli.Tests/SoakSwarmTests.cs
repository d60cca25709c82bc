using System.Text.Json;
using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

/// <summary><c>twin soak</c>'s swarm (each seed its own config) against <c>--no-swarm</c>, and the coverage it prints.</summary>
public sealed class SoakSwarmTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int ProfilesSwitched(JsonElement summary) =>
        summary.GetProperty("coverage").GetProperty("groups").GetProperty("switch").GetProperty("counts").EnumerateObject()
            .Select(p => p.Name[..p.Name.IndexOf(':')]).Distinct().Count();

    [Fact]
    public void a_swarm_soak_draws_a_config_per_seed_and_reports_its_coverage_and_no_swarm_runs_the_fixed_one()
    {
        var swarm = TwinProcess.Run(_dir.Path, "soak", "--seeds", "1..6", "--events", "20000", "--workers", "1", "--bug", "B8", "--json");
        Assert.True(swarm.ExitCode is 0 or 1, swarm.Stderr);
        JsonElement s = swarm.Json;
        Assert.Equal(6, s.GetProperty("coveredRuns").GetInt32());
        Assert.True(s.GetProperty("coverage").GetProperty("pointsHit").GetInt32() > 30);
        // The profile is drawn: six seeds switch on more than one.
        Assert.True(ProfilesSwitched(s) > 1, s.GetProperty("coverage").ToString());
        // Each failing seed comes with its drawn config; twin run --swarm runs the first again (one
        // process: each costs its start, and every seed's draw is the same code).
        JsonElement[] failing = [.. s.GetProperty("failingSeeds").EnumerateArray()];
        Assert.NotEmpty(failing);
        Assert.All(failing, f => Assert.Equal(20000, f.GetProperty("config").GetProperty("run").GetProperty("events").GetInt64()));
        Assert.True(failing.Select(f => f.GetProperty("config").ToString()).Distinct().Count() == failing.Length);
        string seed = failing[0].GetProperty("seed").ToString();
        var again = TwinProcess.Run(_dir.Path, "run", "--swarm", "--seed", seed, "--events", "20000", "--bug", "B8", "--journal", "none:", "--json");
        Assert.Equal(1, again.ExitCode);
        Assert.Equal(failing[0].GetProperty("stateHash").GetString(), again.Json.GetProperty("stateHash").GetString());

        var fixedOne = TwinProcess.Run(_dir.Path, "soak", "--seeds", "1..3", "--events", "20000", "--workers", "1", "--no-swarm", "--json");
        Assert.True(fixedOne.ExitCode == 0, fixedOne.Stderr);
        Assert.Equal(1, ProfilesSwitched(fixedOne.Json));
        Assert.Equal(0, fixedOne.Json.GetProperty("coverage").GetProperty("groups").GetProperty("lam").GetProperty("hit").GetInt32());
    }
}
