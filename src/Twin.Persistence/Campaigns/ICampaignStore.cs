namespace Twin.Persistence.Campaigns;

/// <summary>
/// What a soak campaign is, as stored. Seeds run from <see cref="FirstSeed"/> up to
/// <see cref="LastSeed"/> (inclusive), or without end until <see cref="DeadlineUnixMs"/> (an
/// <c>--hours</c> campaign). <see cref="KeepPassing"/> is the fraction of passing runs whose full
/// journal is kept (failing runs always are).
/// </summary>
public sealed record CampaignSpec(
    string Name, string ConfigJson, string CodeVersion, long FirstSeed, long? LastSeed, long? DeadlineUnixMs,
    long LeaseMs, double KeepPassing, bool StopAtFirst);

/// <summary>A campaign row: its spec, the next seed never claimed, and whether it was stopped (at its first failure).</summary>
public sealed record CampaignInfo(CampaignSpec Spec, long NextSeed, long CreatedUnixMs, bool Stopped);

/// <summary>Who runs seeds: one per process. Host and pid (with the pid's start time) let a worker on the same host tell that another one is dead.</summary>
public sealed record WorkerIdentity(string Uuid, string Host, int Pid, string PidStart);

/// <summary>A seed claimed by a worker. <see cref="Attempt"/> is 1 unless an earlier claim was lost with its worker.</summary>
public readonly record struct SeedClaim(long Seed, int Attempt);

public enum ClaimResult
{
    /// <summary>A seed was claimed.</summary>
    Claimed,
    /// <summary>No seed is free now, but other workers hold claims that may yet be lost and need running.</summary>
    WaitForOthers,
    /// <summary>Every seed is done (or the campaign stopped, or its deadline passed).</summary>
    Finished,
}

/// <summary>What a finished seed reports. <see cref="ResultJson"/> holds its first violations.</summary>
public sealed record SeedOutcome(long Events, ulong StateHash, long WallMs, int Violations, string? RunId, string ResultJson);

/// <summary>A done seed as stored.</summary>
public sealed record SeedRow(long Seed, int Attempts, string Worker, SeedOutcome Outcome);

/// <summary>Sums over a campaign's done seeds.</summary>
public readonly record struct CampaignTotals(long SeedsDone, long Events, long FailingSeeds, long SeedsClaimed);

/// <summary>
/// Soak campaigns kept in a journal database, shared by any number of worker processes on any
/// number of machines: seeds are claimed under a lease, renewed by a heartbeat; a lease that
/// runs out (its worker died) is claimed again by another worker; a result is stored only by the
/// worker that still holds the claim, so no seed is counted twice.
/// </summary>
public interface ICampaignStore : IDisposable
{
    /// <summary>Creates the campaign, or joins it if one of that name exists with the same config and seeds.</summary>
    /// <exception cref="JournalConflictException">a campaign of that name exists with another config, seed range or code version.</exception>
    CampaignInfo CreateOrJoin(CampaignSpec spec);

    CampaignInfo? Find(string name);

    IReadOnlyList<CampaignInfo> List();

    /// <summary>Records the worker, and gives back at once the claims of workers on this host whose process is gone.</summary>
    /// <returns>How many claims were given back.</returns>
    int Join(string campaign, WorkerIdentity worker, Func<WorkerIdentity, bool> isDeadHere);

    ClaimResult TryClaim(string campaign, WorkerIdentity worker, long nowUnixMs, out SeedClaim claim);

    /// <summary>Extends every lease the worker holds; its heartbeat.</summary>
    void Renew(string campaign, WorkerIdentity worker, long nowUnixMs);

    /// <summary>Stores a seed's result if the worker still holds its claim.</summary>
    /// <returns>false when the claim was lost (another worker has the seed): nothing is stored.</returns>
    bool Complete(string campaign, long seed, WorkerIdentity worker, SeedOutcome outcome);

    /// <summary>Gives a claim back unrun (the worker was interrupted).</summary>
    void Release(string campaign, long seed, WorkerIdentity worker);

    /// <summary>Stops the campaign: no new seed is claimed (a --first campaign after its first failure).</summary>
    void Stop(string campaign);

    CampaignTotals Totals(string campaign);

    /// <summary>Done seeds in seed order; only failing ones when <paramref name="failingOnly"/>.</summary>
    IReadOnlyList<SeedRow> Seeds(string campaign, bool failingOnly);
}
