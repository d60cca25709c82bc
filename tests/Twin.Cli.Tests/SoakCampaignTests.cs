using System.Diagnostics;
using System.Text.Json;
using Twin.Persistence;
using Twin.Persistence.Campaigns;
using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

/// <summary>Campaigns that survive their workers: SIGKILL and SIGINT then --resume, and several workers sharing one PostgreSQL campaign.</summary>
public sealed class SoakCampaignTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string[] s_workload = ["--bug", "B4", "--events", "100000"];

    [Fact]
    public void a_campaign_killed_several_times_and_resumed_ends_with_the_summary_of_an_uninterrupted_one()
    {
        var whole = TwinProcess.Run(_dir.Path, ["soak", "--seeds", "1..30", .. s_workload, "--journal", "sqlite:whole.db", "--campaign", "c", "--json"]);
        Assert.True(whole.ExitCode == 1, whole.Stderr);
        Assert.True(whole.Json.GetProperty("failingRuns").GetInt32() > 0, "the bug should make some seeds fail");

        var random = new Random(2026);
        string[] start = ["soak", "--seeds", "1..30", .. s_workload, "--journal", "sqlite:cut.db", "--campaign", "c", "--json"];
        string[] resume = ["soak", "--resume", "sqlite:cut.db", "--json"];
        Interrupt(start, signal: "KILL", random, waitForCampaign: true);
        Interrupt(resume, signal: "KILL", random, waitForCampaign: false);
        Interrupt(resume, signal: "KILL", random, waitForCampaign: false);
        TwinProcess.Result interrupted = Interrupt(resume, signal: "INT", random, waitForCampaign: false);
        Assert.True(interrupted.ExitCode is 0 or 1, $"SIGINT should end the soak cleanly: {interrupted.Stderr}");
        var rest = TwinProcess.Run(_dir.Path, resume);
        Assert.True(rest.ExitCode == 1, rest.Stderr);

        Assert.Equal(Comparable(whole.Json), Comparable(rest.Json));
        // Every failing seed is in the journal once, whole: same rows as the uninterrupted campaign's.
        using IJournal a = JournalUri.Open("sqlite:" + Path.Combine(_dir.Path, "whole.db"), create: false);
        using IJournal b = JournalUri.Open("sqlite:" + Path.Combine(_dir.Path, "cut.db"), create: false);
        Assert.Equal(a.ListRuns().Select(r => r.RunId).Order(), b.ListRuns().Select(r => r.RunId).Order());
        foreach (RunInfo run in b.ListRuns())
        {
            Assert.Equal(RunStatus.Completed, run.Status);
            Assert.Equal(Rows(a, a.FindRun(run.RunId)!), Rows(b, run));
        }
    }

    [Fact]
    public async Task three_workers_share_a_postgres_campaign_of_300_seeds_and_each_seed_is_run_once_even_when_one_is_killed()
    {
        string pg = "postgres:" + PostgresServer.FreshSchema();
        string[] args = ["soak", "--seeds", "1..300", "--bug", "B4", "--events", "20000", "--workers", "1", "--lease", "2",
            "--journal", pg, "--campaign", "shared", "--json"];
        var reference = TwinProcess.Run(_dir.Path, ["soak", "--seeds", "1..300", "--bug", "B4", "--events", "20000", "--json"]);
        Assert.True(reference.ExitCode == 1, reference.Stderr);

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
        for (int i = 1; i < 3; i++)
        {
            Assert.True(workers[i].ExitCode == 1, await outputs[i].Err);
            var summary = JsonDocument.Parse(await outputs[i].Out).RootElement;
            Assert.Equal(Comparable(reference.Json, withJournal: false), Comparable(summary, withJournal: false));
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
    public void a_campaign_that_fills_its_disk_stops_with_a_clear_error_and_resumes_whole_once_there_is_room()
    {
        // A real full disk: a 3 MB tmpfs (mounting needs root, as the test command runs).
        string mnt = Path.Combine(_dir.Path, "small");
        Directory.CreateDirectory(mnt);
        Sh($"mount -t tmpfs -o size=3m tmpfs {mnt}");
        try
        {
            string uri = $"sqlite:{mnt}/c.db";
            var whole = TwinProcess.Run(_dir.Path, ["soak", "--seeds", "1..30", .. s_workload, "--journal", "sqlite:whole.db", "--campaign", "c", "--json"]);
            var full = TwinProcess.Run(_dir.Path, ["soak", "--seeds", "1..30", .. s_workload, "--journal", uri, "--campaign", "c", "--json"]);
            // Seen once under load (2026-11-21): exit 2 without this message; the whole stderr says which error it was.
            Assert.True(full.ExitCode == 2 && full.Stderr.Contains("the disk is full", StringComparison.Ordinal), $"exit {full.ExitCode}:\n{full.Stderr}");
            Assert.DoesNotContain("   at ", full.Stderr);
            Sh($"mount -o remount,size=300m {mnt}");
            var resumed = TwinProcess.Run(_dir.Path, "soak", "--resume", uri, "--json");
            Assert.True(resumed.ExitCode == 1, resumed.Stderr);
            Assert.Equal(Comparable(whole.Json), Comparable(resumed.Json));
            using IJournal j = JournalUri.Open(uri, create: false);
            Assert.All(j.ListRuns(), r => Assert.Equal(RunStatus.Completed, r.Status));
        }
        finally
        {
            Sh($"umount {mnt}");
        }
    }

    private static void Sh(string command)
    {
        using Process p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardError = true })!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{command}: {err} (this test needs root, as the test command runs)");
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

    /// <summary>Starts twin, waits a random moment (after the campaign exists, when asked), sends the signal, and returns what it printed.</summary>
    private TwinProcess.Result Interrupt(string[] args, string signal, Random random, bool waitForCampaign)
    {
        using Process p = Process.Start(TwinProcess.StartInfo(_dir.Path, args))!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (waitForCampaign)
        {
            string db = Path.Combine(_dir.Path, "cut.db");
            var clock = Stopwatch.StartNew();
            while (!CampaignExists(db) && clock.Elapsed < TimeSpan.FromMinutes(1)) Thread.Sleep(20);
        }
        Thread.Sleep(random.Next(300, 2500));
        using (Process kill = Process.Start("kill", $"-{signal} {p.Id}")!) kill.WaitForExit();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), $"twin did not stop on SIG{signal}");
        return new TwinProcess.Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    private static bool CampaignExists(string db)
    {
        if (!File.Exists(db)) return false;
        try
        {
            using IJournal j = JournalUri.Open("sqlite:" + db, create: false);
            using ICampaignStore s = j.OpenCampaigns();
            return s.Find("c") is not null;
        }
        catch (JournalException)
        {
            return false;
        }
    }

    /// <summary>A soak summary without what may differ between equal campaigns: times, rates, and the journal's file name.</summary>
    private static string Comparable(JsonElement summary, bool withJournal = true)
    {
        var violations = summary.GetProperty("violations").EnumerateArray().Select(v =>
        {
            string journal = withJournal && v.GetProperty("journal").GetString() is string j ? j[j.IndexOf(" --run ", StringComparison.Ordinal)..] : "";
            return $"{v.GetProperty("seed")} {v.GetProperty("property")} {v.GetProperty("eventIndex")} {v.GetProperty("message")} {journal}";
        });
        // Coverage is summed over every seed, whichever process ran it.
        return $"runs {summary.GetProperty("runs")} events {summary.GetProperty("events")} failing {summary.GetProperty("failingRuns")}\n{string.Join('\n', violations)}\n"
            + $"covered {summary.GetProperty("coveredRuns")} {summary.GetProperty("coverage").GetRawText()}\n{summary.GetProperty("failingSeeds").GetRawText()}";
    }

    private static List<(long, int, long)> Rows(IJournal j, RunInfo run)
    {
        var rows = new List<(long, int, long)>();
        using IJournalCursor c = j.ReadRun(run);
        while (c.MoveNext()) rows.Add((c.Current.SequenceNr, c.Current.Manifest, c.Current.TimestampNs));
        return rows;
    }
}
