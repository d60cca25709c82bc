using Twin.Persistence.Campaigns;

namespace Twin.Persistence.Tests;

/// <summary>What every campaign store guarantees: each seed claimed by one worker at a time, run once, a lost claim claimed again.</summary>
public abstract class CampaignStoreContract : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    protected abstract IJournal CreateJournal();

    public virtual void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        GC.SuppressFinalize(this);
    }

    private ICampaignStore Store()
    {
        IJournal j = CreateJournal();
        _owned.Add(j);
        ICampaignStore s = j.OpenCampaigns();
        _owned.Add(s);
        return s;
    }

    private static CampaignSpec Spec(long first = 1, long? last = 3, long lease = 60_000, long? deadline = null) =>
        new("c", "{\"cpus\":2}", "test", first, last, deadline, lease, 0, StopAtFirst: false);

    private static WorkerIdentity Worker(string name, string host = "h", int pid = 1) => new(name, host, pid, "0");

    private static SeedOutcome Outcome(long seed, int violations = 0) => new(seed * 10, (ulong)seed, 1, violations, null, "[]");

    [Fact]
    public void Seeds_should_be_claimed_in_order_once_each_then_the_campaign_is_finished()
    {
        ICampaignStore s = Store();
        s.CreateOrJoin(Spec());
        WorkerIdentity a = Worker("a"), b = Worker("b");
        s.Join("c", a, _ => false);
        s.Join("c", b, _ => false);
        Assert.Equal(ClaimResult.Claimed, s.TryClaim("c", a, 1000, out SeedClaim c1));
        Assert.Equal(ClaimResult.Claimed, s.TryClaim("c", b, 1000, out SeedClaim c2));
        Assert.Equal(ClaimResult.Claimed, s.TryClaim("c", a, 1000, out SeedClaim c3));
        Assert.Equal([1L, 2, 3], new[] { c1.Seed, c2.Seed, c3.Seed });
        Assert.Equal(ClaimResult.WaitForOthers, s.TryClaim("c", b, 1000, out _));
        Assert.True(s.Complete("c", 1, a, Outcome(1)));
        Assert.True(s.Complete("c", 2, b, Outcome(2, violations: 1)));
        Assert.True(s.Complete("c", 3, a, Outcome(3)));
        Assert.Equal(ClaimResult.Finished, s.TryClaim("c", b, 1000, out _));
        Assert.Equal(new CampaignTotals(3, 60, 1, 0), s.Totals("c"));
        Assert.Equal([2L], s.Seeds("c", failingOnly: true).Select(r => r.Seed));
    }

    [Fact]
    public void A_claim_whose_lease_ran_out_should_go_to_another_worker_and_the_first_may_not_store_it()
    {
        ICampaignStore s = Store();
        s.CreateOrJoin(Spec(last: 1, lease: 100));
        WorkerIdentity a = Worker("a"), b = Worker("b");
        Assert.Equal(ClaimResult.Claimed, s.TryClaim("c", a, 1000, out _));
        Assert.Equal(ClaimResult.WaitForOthers, s.TryClaim("c", b, 1050, out _));
        Assert.Equal(ClaimResult.Claimed, s.TryClaim("c", b, 1200, out SeedClaim again));
        Assert.Equal(new SeedClaim(1, 2), again);
        Assert.False(s.Complete("c", 1, a, Outcome(1)));
        Assert.True(s.Complete("c", 1, b, Outcome(1)));
        Assert.Equal(1, s.Totals("c").SeedsDone);
        Assert.Equal("b", s.Seeds("c", false).Single().Worker);
    }

    [Fact]
    public void A_heartbeat_should_keep_a_claim()
    {
        ICampaignStore s = Store();
        s.CreateOrJoin(Spec(last: 1, lease: 100));
        WorkerIdentity a = Worker("a"), b = Worker("b");
        s.TryClaim("c", a, 1000, out _);
        s.Renew("c", a, 1090);
        Assert.Equal(ClaimResult.WaitForOthers, s.TryClaim("c", b, 1150, out _));
    }

    [Fact]
    public void Joining_should_give_back_at_once_the_claims_of_a_dead_worker_on_this_host_only()
    {
        ICampaignStore s = Store();
        s.CreateOrJoin(Spec(last: 2));
        WorkerIdentity dead = Worker("dead", pid: 10), remote = Worker("remote", host: "other", pid: 10), me = Worker("me", pid: 20);
        s.Join("c", dead, _ => false);
        s.Join("c", remote, _ => false);
        s.TryClaim("c", dead, 1000, out _);
        s.TryClaim("c", remote, 1000, out _);
        Assert.Equal(1, s.Join("c", me, w => w.Pid == 10 && w.Host == "h"));
        Assert.Equal(ClaimResult.Claimed, s.TryClaim("c", me, 1001, out SeedClaim got));
        Assert.Equal(new SeedClaim(1, 2), got);
        Assert.Equal(ClaimResult.WaitForOthers, s.TryClaim("c", me, 1001, out _));
    }

    [Fact]
    public void A_released_claim_should_be_claimed_again_at_once()
    {
        ICampaignStore s = Store();
        s.CreateOrJoin(Spec(last: 1));
        WorkerIdentity a = Worker("a");
        s.TryClaim("c", a, 1000, out _);
        s.Release("c", 1, a);
        Assert.Equal(ClaimResult.Claimed, s.TryClaim("c", a, 1001, out SeedClaim again));
        Assert.Equal(1, again.Seed);
    }

    [Fact]
    public void An_open_ended_campaign_should_stop_handing_out_new_seeds_at_its_deadline_or_when_stopped()
    {
        ICampaignStore s = Store();
        s.CreateOrJoin(Spec(first: 5, last: null, deadline: 2000));
        WorkerIdentity a = Worker("a");
        for (long seed = 5; seed < 105; seed++)
        {
            Assert.Equal(ClaimResult.Claimed, s.TryClaim("c", a, 1000, out SeedClaim c));
            Assert.Equal(seed, c.Seed);
            s.Complete("c", c.Seed, a, Outcome(c.Seed));
        }
        Assert.Equal(ClaimResult.Finished, s.TryClaim("c", a, 2000, out _));
        s.CreateOrJoin(Spec(first: 5, last: null, deadline: 2000));
        s.Stop("c");
        Assert.Equal(ClaimResult.Finished, s.TryClaim("c", a, 1500, out _));
        Assert.True(s.Find("c")!.Stopped);
    }

    [Fact]
    public void Joining_a_campaign_with_another_config_should_be_refused()
    {
        ICampaignStore s = Store();
        s.CreateOrJoin(Spec());
        Assert.Equal(1, s.CreateOrJoin(Spec()).Spec.FirstSeed);
        var e = Assert.Throws<JournalConflictException>(() => s.CreateOrJoin(Spec() with { ConfigJson = "{}" }));
        Assert.Contains("another config", e.Message);
        e = Assert.Throws<JournalConflictException>(() => s.CreateOrJoin(Spec(last: 9)));
        Assert.Contains("seed range", e.Message);
    }

    [Fact]
    public void Many_threads_claiming_at_once_should_get_every_seed_exactly_once()
    {
        ICampaignStore s = Store();
        s.CreateOrJoin(Spec(last: 60));
        var got = new System.Collections.Concurrent.ConcurrentBag<long>();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            WorkerIdentity w = Worker($"w{i}");
            while (s.TryClaim("c", w, 1000, out SeedClaim c) == ClaimResult.Claimed)
            {
                got.Add(c.Seed);
                Assert.True(s.Complete("c", c.Seed, w, Outcome(c.Seed)));
            }
        });
        Assert.Equal(Enumerable.Range(1, 60).Select(x => (long)x), got.OrderBy(x => x));
        Assert.Equal(60, s.Totals("c").SeedsDone);
    }
}

public sealed class SqliteCampaignStoreTests : CampaignStoreContract
{
    private readonly TempDir _dir = new();
    private int _n;

    protected override IJournal CreateJournal() => Sqlite.SqliteJournal.Open(_dir.File($"c{_n++}.db"), create: true);

    public override void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }
}

public sealed class PostgresCampaignStoreTests : CampaignStoreContract
{
    protected override IJournal CreateJournal() => Postgres.PostgresJournal.Open(PostgresServer.FreshSchema(), create: true);
}

public sealed class MemoryJournalCampaignTests
{
    [Fact]
    public void A_memory_journal_cannot_hold_a_campaign()
    {
        using var j = new Memory.MemoryJournal();
        var e = Assert.Throws<JournalFormatException>(() => ((IJournal)j).OpenCampaigns());
        Assert.Contains("sqlite: or postgres:", e.Message);
    }
}
