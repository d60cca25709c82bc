using System.Diagnostics;
using System.Text.Json;
using Twin.Persistence;
using Twin.Persistence.Campaigns;
using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

/// <summary>PostgreSQL campaigns: several workers sharing one, one of them killed, and connections killed under a running soak.</summary>
public sealed class PostgresCampaignTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task three_workers_share_a_postgres_campaign_of_300_seeds_and_each_seed_is_run_once_even_when_one_is_killed()
    {
        string pg = "postgres:" + PostgresServer.FreshSchema();
        string[] args = ["soak", "--seeds", "1..300", "--bug", "B4", "--events", "20000", "--workers", "1", "--lease", "2",
            "--journal", pg, "--campaign", "shared", "--json"];
        // The uninterrupted soak the workers' summaries must equal, run meanwhile.
        Task<TwinProcess.Result> uninterrupted = Task.Run(() => TwinProcess.Run(_dir.Path, ["soak", "--seeds", "1..300", "--bug", "B4", "--events", "20000", "--json"]));
        var workers = Enumerable.Range(0, 3).Select(_ => Process.Start(TwinProcess.StartInfo(_dir.Path, args))!).ToList();
        var outputs = workers.Select(p => (Out: p.StandardOutput.ReadToEndAsync(), Err: p.StandardError.ReadToEndAsync())).ToList();
        using (IJournal j = JournalUri.Open(pg, create: true))
        using (ICampaignStore store = j.OpenCampaigns())
        {
            var clock = Stopwatch.StartNew();
            while ((store.Find("shared") is null || store.Totals("shared").SeedsDone < 60) && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(50);
            workers[0].Kill(entireProcessTree: true);
        }
        foreach (Process p in workers.Skip(1)) Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)), "a surviving worker did not finish");
        TwinProcess.Result reference = await uninterrupted;
        Assert.True(reference.ExitCode == 1, reference.Stderr);
        for (int i = 1; i < 3; i++)
        {
            Assert.True(workers[i].ExitCode == 1, await outputs[i].Err);
            var summary = JsonDocument.Parse(await outputs[i].Out).RootElement;
            Assert.Equal(SoakSummary.Comparable(reference.Json, withJournal: false), SoakSummary.Comparable(summary, withJournal: false));
        }
        using IJournal journal = JournalUri.Open(pg, create: false);
        using ICampaignStore campaigns = journal.OpenCampaigns();
        IReadOnlyList<SeedRow> seeds = campaigns.Seeds("shared", failingOnly: false);
        Assert.Equal(Enumerable.Range(1, 300).Select(s => (long)s), seeds.Select(s => s.Seed));
        Assert.Equal(0, campaigns.Totals("shared").SeedsClaimed);
        Assert.Equal(3, seeds.Select(s => s.Worker).Distinct().Count());
        // One whole run per failing seed: a run the killed worker left half-written was written again.
        var failing = seeds.Where(s => s.Outcome.Violations > 0).Select(s => $"shared/seed-{s.Seed}").Order().ToList();
        Assert.Equal(failing, journal.ListRuns().Select(r => r.RunId).Order());
        Assert.All(journal.ListRuns(), r => Assert.Equal(RunStatus.Completed, r.Status));
        foreach (Process p in workers) p.Dispose();
    }

    [Fact]
    public async Task a_postgres_campaign_rides_out_its_connections_being_killed()
    {
        // Its own application name, so only this soak's connections are killed, not other tests'.
        string app = $"twin-under-fire-{Guid.NewGuid():N}"[..40];
        string pg = $"postgres:{PostgresServer.FreshSchema()};Application Name={app}";
        using Process soak = Process.Start(TwinProcess.StartInfo(_dir.Path, "soak", "--seeds", "1..80", "--events", "20000", "--workers", "2",
            "--journal", pg, "--campaign", "cut", "--json"))!;
        Task<string> stdout = soak.StandardOutput.ReadToEndAsync();
        Task<string> stderr = soak.StandardError.ReadToEndAsync();
        // Once the campaign runs, kill the soak's backends on the server, again and again: what a
        // server restart or a network cut does to the soak's connections.
        using (IJournal probe = JournalUri.Open(pg, create: true))
        using (ICampaignStore campaigns = probe.OpenCampaigns())
        {
            var clock = Stopwatch.StartNew();
            while (!soak.HasExited && (campaigns.Find("cut") is null || campaigns.Totals("cut").SeedsDone < 2) && clock.Elapsed < TimeSpan.FromMinutes(1)) await Task.Delay(20);
        }
        int kills = 0;
        while (!soak.HasExited && kills < 40)
        {
            await Task.Delay(150);
            PostgresServer.Exec(PostgresServer.ConnectionString,
                $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{app}' AND pid <> pg_backend_pid()");
            kills++;
        }
        Assert.True(soak.WaitForExit(TimeSpan.FromMinutes(3)), "the soak did not finish");
        string err = await stderr;
        Assert.True(soak.ExitCode == 0, err);
        var summary = JsonDocument.Parse(await stdout).RootElement;
        Assert.Equal(80, summary.GetProperty("runs").GetInt32());
        Assert.Contains("retrying in", err);
        using IJournal j = JournalUri.Open(pg, create: false);
        using ICampaignStore store = j.OpenCampaigns();
        Assert.Equal(Enumerable.Range(1, 80).Select(x => (long)x), store.Seeds("cut", failingOnly: false).Select(r => r.Seed));
    }
}
