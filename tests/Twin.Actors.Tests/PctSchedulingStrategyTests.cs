namespace Twin.Actors.Tests;

/// <summary>The PCT scheduling strategy: priorities, change points, determinism.</summary>
public sealed class PctSchedulingStrategyTests
{
    private static List<int> Picks(ISchedulingStrategy s, int count)
    {
        int[] ready = [3, 7, 11, 42];
        var random = new DeterministicRandom(1);
        return [.. Enumerable.Range(0, count).Select(_ => ready[s.Pick(ready, random)])];
    }

    [Fact]
    public void Without_change_points_the_highest_priority_actor_always_runs()
    {
        List<int> picks = Picks(new PctSchedulingStrategy(seed: 5, depth: 1, horizon: 100), 50);
        Assert.Single(picks.Distinct());
    }

    [Fact]
    public void Each_change_point_demotes_the_actor_about_to_run()
    {
        List<int> picks = Picks(new PctSchedulingStrategy(seed: 5, depth: 4, horizon: 40), 60);
        // Three change points within the first 40 picks: four different actors lead in turn, then the last stays.
        int switches = picks.Zip(picks.Skip(1)).Count(p => p.First != p.Second);
        Assert.Equal(3, switches);
        Assert.Equal(picks[40], picks[59]);
    }

    [Fact]
    public void The_same_seed_gives_the_same_schedule_and_another_seed_another()
    {
        Assert.Equal(Picks(new PctSchedulingStrategy(9, 3, 30), 40), Picks(new PctSchedulingStrategy(9, 3, 30), 40));
        var schedules = Enumerable.Range(1, 20).Select(s => string.Join(",", Picks(new PctSchedulingStrategy((ulong)s, 3, 30), 40))).Distinct().Count();
        Assert.True(schedules > 5, $"only {schedules} distinct schedules over 20 seeds");
    }
}
