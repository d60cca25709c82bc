using System.Diagnostics;
using System.Text.Json;
using Twin.Persistence;
using Twin.Persistence.Campaigns;
using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

/// <summary>
/// The campaign the SQLite campaign tests compare against, run once without interruption and
/// read by each of them (its summary and its journal).
/// </summary>
public sealed class UninterruptedCampaign : IDisposable
{
    public static readonly string[] Workload = ["--seeds", "1..30", "--bug", "B4", "--events", "100000"];

    private readonly TempDir _dir = new();
    private readonly Lazy<TwinProcess.Result> _result;

    public UninterruptedCampaign() =>
        _result = new(() => TwinProcess.Run(_dir.Path, ["soak", .. Workload, "--journal", "sqlite:whole.db", "--campaign", "c", "--json"]));

    public TwinProcess.Result Result => _result.Value;

    public string Journal => "sqlite:" + _dir.File("whole.db");

    public void Dispose() => _dir.Dispose();
}

/// <summary>SQLite campaigns that survive their workers: SIGKILL and SIGINT then --resume, and a full disk.</summary>
public sealed class SoakCampaignTests(UninterruptedCampaign uninterrupted) : IClassFixture<UninterruptedCampaign>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string[] s_workload = UninterruptedCampaign.Workload;

    [Fact]
    public void a_campaign_killed_several_times_and_resumed_ends_with_the_summary_of_an_uninterrupted_one()
    {
        TwinProcess.Result whole = uninterrupted.Result;
        Assert.True(whole.ExitCode == 1, whole.Stderr);
        Assert.True(whole.Json.GetProperty("failingRuns").GetInt32() > 0, "the bug should make some seeds fail");

        var random = new Random(2026);
        string[] start = ["soak", .. s_workload, "--journal", "sqlite:cut.db", "--campaign", "c", "--json"];
        string[] resume = ["soak", "--resume", "sqlite:cut.db", "--json"];
        Interrupt(start, signal: "KILL", random, waitForCampaign: true);
        Interrupt(resume, signal: "KILL", random, waitForCampaign: false);
        Interrupt(resume, signal: "KILL", random, waitForCampaign: false);
        TwinProcess.Result interrupted = Interrupt(resume, signal: "INT", random, waitForCampaign: false);
        Assert.True(interrupted.ExitCode is 0 or 1, $"SIGINT should end the soak cleanly: {interrupted.Stderr}");
        var rest = TwinProcess.Run(_dir.Path, resume);
        Assert.True(rest.ExitCode == 1, rest.Stderr);

        Assert.Equal(SoakSummary.Comparable(whole.Json), SoakSummary.Comparable(rest.Json));
        // Every failing seed is in the journal once, whole: same rows as the uninterrupted campaign's.
        using IJournal a = JournalUri.Open(uninterrupted.Journal, create: false);
        using IJournal b = JournalUri.Open("sqlite:" + Path.Combine(_dir.Path, "cut.db"), create: false);
        Assert.Equal(a.ListRuns().Select(r => r.RunId).Order(), b.ListRuns().Select(r => r.RunId).Order());
        foreach (RunInfo run in b.ListRuns())
        {
            Assert.Equal(RunStatus.Completed, run.Status);
            Assert.Equal(Rows(a, a.FindRun(run.RunId)!), Rows(b, run));
        }
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
            TwinProcess.Result whole = uninterrupted.Result;
            var full = TwinProcess.Run(_dir.Path, ["soak", .. s_workload, "--journal", uri, "--campaign", "c", "--json"]);
            // Seen once under load (2026-11-21): exit 2 without this message; the whole stderr says which error it was.
            Assert.True(full.ExitCode == 2 && full.Stderr.Contains("the disk is full", StringComparison.Ordinal), $"exit {full.ExitCode}:\n{full.Stderr}");
            Assert.DoesNotContain("   at ", full.Stderr);
            Sh($"mount -o remount,size=300m {mnt}");
            var resumed = TwinProcess.Run(_dir.Path, "soak", "--resume", uri, "--json");
            Assert.True(resumed.ExitCode == 1, resumed.Stderr);
            Assert.Equal(SoakSummary.Comparable(whole.Json), SoakSummary.Comparable(resumed.Json));
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

    private static List<(long, int, long)> Rows(IJournal j, RunInfo run)
    {
        var rows = new List<(long, int, long)>();
        using IJournalCursor c = j.ReadRun(run);
        while (c.MoveNext()) rows.Add((c.Current.SequenceNr, c.Current.Manifest, c.Current.TimestampNs));
        return rows;
    }
}

/// <summary>Soak summaries, compared.</summary>
public static class SoakSummary
{
    /// <summary>A soak summary without what may differ between equal campaigns: times, rates, and the journal's file name.</summary>
    public static string Comparable(JsonElement summary, bool withJournal = true)
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
}
