using Twin.Checking;
using Twin.Actors;
using Twin.Persistence;
using Twin.Persistence.Campaigns;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Soak;

/// <summary>
/// Seeds from a campaign kept in a journal database, shared with any other worker process on it.
/// Claims are leased and renewed by a heartbeat; a failing seed (and a sample of passing ones) is
/// run again into the journal as run <c>CAMPAIGN/seed-N</c> before its result is stored, so a
/// finding is never recorded without its run; a half-written run left by a killed worker is
/// deleted and written again. Database outages are retried (see <see cref="StoreRetry"/>).
/// </summary>
public sealed class CampaignSeedSource : ISeedSource, IDisposable
{
    private readonly IJournal _journal;
    private readonly ICampaignStore _store;
    private readonly TwinConfig _config;
    private readonly CampaignInfo _campaign;
    private readonly WorkerIdentity _me = LocalWorker.Current();
    private readonly StoreRetry _retry;
    private readonly Action<string> _report;
    private readonly Timer _heartbeat;
    private readonly DateTime _startUtc = DateTime.UtcNow;
    /// <summary>Seeds this process holds now: the heartbeat renews leases only while there are some.</summary>
    private int _held;
    private long _fractionReadAt = long.MinValue / 2;
    private double _fraction;

    /// <param name="report">Where warnings go (lost claims, retries, reclaimed seeds).</param>
    public CampaignSeedSource(IJournal journal, CampaignInfo campaign, TwinConfig config, Action<string> report)
    {
        _journal = journal;
        _store = journal.OpenCampaigns();
        _campaign = campaign;
        _config = config;
        _report = report;
        _retry = new StoreRetry(report);
        int given = _retry.Do("joining the campaign", () => _store.Join(Name, _me, LocalWorker.IsDeadHere));
        if (given > 0) report($"campaign '{Name}': {given} seed(s) claimed by a worker of this host that is gone are run again");
        long period = Math.Max(100, campaign.Spec.LeaseMs / 3);
        _heartbeat = new Timer(_ => Beat(), null, period, period);
    }

    public string Name => _campaign.Spec.Name;

    /// <summary>The campaign stops at its first failing seed (it was started with --first).</summary>
    public bool StopsAtFirst => _campaign.Spec.StopAtFirst;

    /// <summary>By seeds done (read from the database at most once a second) or by time.</summary>
    public double Fraction
    {
        get
        {
            CampaignSpec s = _campaign.Spec;
            if (s.LastSeed is long last)
            {
                long now = Environment.TickCount64;
                if (now - Volatile.Read(ref _fractionReadAt) > 1000)
                {
                    Volatile.Write(ref _fractionReadAt, now);
                    long done = _retry.Do("summing the campaign", () => _store.Totals(Name)).SeedsDone;
                    Volatile.Write(ref _fraction, Math.Clamp(done / (double)(last - s.FirstSeed + 1), 0, 1));
                }
                return Volatile.Read(ref _fraction);
            }
            if (s.DeadlineUnixMs is long deadline)
            {
                double total = deadline - new DateTimeOffset(_startUtc).ToUnixTimeMilliseconds();
                return total <= 0 ? 1 : Math.Clamp((DateTime.UtcNow - _startUtc).TotalMilliseconds / total, 0, 1);
            }
            return 0;
        }
    }

    public bool TryClaim(CancellationToken cancel, out ulong seed)
    {
        seed = 0;
        while (!cancel.IsCancellationRequested)
        {
            SeedClaim claim = default;
            ClaimResult r = _retry.Do("claiming a seed", () => _store.TryClaim(Name, _me, Now(), out claim));
            if (r == ClaimResult.Finished) return false;
            if (r == ClaimResult.Claimed)
            {
                if (claim.Attempt > 1) _report($"campaign '{Name}': seed {claim.Seed} was claimed by a worker that is gone; running it again (attempt {claim.Attempt})");
                seed = (ulong)claim.Seed;
                Interlocked.Increment(ref _held);
                return true;
            }
            // Others hold the last seeds; wait in case one of them dies and its lease runs out.
            cancel.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(Math.Clamp(_campaign.Spec.LeaseMs / 4, 50, 1000)));
        }
        return false;
    }

    public void Complete(ulong seed, SimulationResult result, double wallSeconds)
    {
        string? runId = null;
        if (result.Violations.Count > 0 || Kept(seed)) runId = JournalRun(seed);
        var outcome = new SeedOutcome(result.Events, result.StateHash, (long)(wallSeconds * 1000), result.Violations.Count, runId,
            ViolationJson.Write(result.Violations, result.Coverage));
        bool stored = _retry.Do($"storing seed {seed}", () => _store.Complete(Name, (long)seed, _me, outcome));
        Interlocked.Decrement(ref _held);
        if (!stored) _report($"campaign '{Name}': seed {seed} was claimed again by another worker while it ran here; its result is the other worker's to store");
        if (result.Violations.Count > 0 && _campaign.Spec.StopAtFirst) Stop();
    }

    public void Abandon(ulong seed)
    {
        _retry.Do($"giving back seed {seed}", () => _store.Release(Name, (long)seed, _me));
        Interlocked.Decrement(ref _held);
    }

    public void Stop() => _retry.Do("stopping the campaign", () => _store.Stop(Name));

    public SoakResult Summary(double wallSeconds)
    {
        CampaignTotals totals = _retry.Do("summing the campaign", () => _store.Totals(Name));
        IReadOnlyList<SeedRow> failing = _retry.Do("reading failing seeds", () => _store.Seeds(Name, failingOnly: true));
        bool stopped = _retry.Do("reading the campaign", () => _store.Find(Name))!.Stopped;
        var runs = failing.Select(r => new SoakRun((ulong)r.Seed, r.Outcome.Events, r.Outcome.StateHash, r.Outcome.WallMs / 1000.0,
            ViolationJson.Read(r.Outcome.ResultJson, $"{_journal.Uri} campaign '{Name}' seed {r.Seed}"),
            r.Outcome.RunId is null ? null : $"{_journal.Uri} --run {r.Outcome.RunId}") { ConfigJson = ConfigLoader.ToJson(_config.ForSeed((ulong)r.Seed)) }).ToList();
        // Coverage is summed over every seed the campaign holds, whichever worker ran it.
        var coverage = new Coverage();
        long covered = 0;
        foreach (SeedRow row in _retry.Do("reading the seeds", () => _store.Seeds(Name, failingOnly: false)))
        {
            if (ViolationJson.AddCoverage(row.Outcome.ResultJson, coverage, $"{_journal.Uri} campaign '{Name}' seed {row.Seed}")) covered++;
        }
        return new SoakResult(totals.SeedsDone, totals.Events, runs, wallSeconds, stopped) { Campaign = Name, Coverage = coverage, CoveredRuns = covered };
    }

    public void Dispose()
    {
        using var done = new ManualResetEvent(false);
        if (_heartbeat.Dispose(done)) done.WaitOne();
        _store.Dispose();
    }

    /// <summary>The run id a campaign's journaled seed gets.</summary>
    public static string RunIdOf(string campaign, ulong seed) => $"{campaign}/seed-{seed}";

    /// <summary>Passing seeds whose full journal is kept: a fixed pseudo-random sample by seed, the same on every worker.</summary>
    private bool Kept(ulong seed)
    {
        double keep = _campaign.Spec.KeepPassing;
        return keep > 0 && new DeterministicRandom(seed).NextDouble() < keep;
    }

    private string JournalRun(ulong seed)
    {
        string runId = RunIdOf(Name, seed);
        return _retry.Do($"journaling seed {seed}", () =>
        {
            RunInfo? earlier = _journal.FindRun(runId);
            if (earlier is { Status: RunStatus.Completed }) return runId;
            // Half written by a worker that died (or by this one before an outage): written again whole.
            if (earlier is not null) _journal.DeleteRun(earlier);
            SimulationRunner.Run(_config.ForSeed(seed), _journal, runId, stopAtFirstViolation: _campaign.Spec.StopAtFirst);
            return runId;
        });
    }

    private void Beat()
    {
        if (Volatile.Read(ref _held) == 0) return;
        try
        {
            _retry.Do("renewing leases", () => _store.Renew(Name, _me, Now()));
        }
        catch (JournalException e)
        {
            // The claims may run out and go to other workers; results are then theirs to store.
            _report($"campaign '{Name}': cannot renew leases ({e.Message})");
        }
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
