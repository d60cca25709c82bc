using Twin.Persistence;
using Twin.Persistence.Campaigns;
using Twin.Simulation.Config;

namespace Twin.Simulation.Soak;

/// <summary>What a person asks of a new campaign (or of one they join).</summary>
/// <param name="LastSeed">null with <paramref name="Duration"/>: seeds without end until the time is up.</param>
public sealed record CampaignRequest(string Name, ulong FirstSeed, ulong? LastSeed, TimeSpan? Duration, TimeSpan Lease, double KeepPassing, bool StopAtFirst);

/// <summary>Starts, joins and resumes soak campaigns kept in a journal.</summary>
public static class Campaigns
{
    /// <summary>Creates the campaign, or joins it when it exists with the same config and seeds (another worker started it).</summary>
    public static CampaignSeedSource CreateOrJoin(IJournal journal, TwinConfig config, CampaignRequest request, Action<string> report)
    {
        if (request.FirstSeed > long.MaxValue || request.LastSeed > long.MaxValue)
        {
            throw new ConfigException($"--seeds: a campaign's seeds must be at most {long.MaxValue}");
        }
        long? deadline = request.Duration is TimeSpan d ? DateTimeOffset.UtcNow.Add(d).ToUnixTimeMilliseconds() : null;
        var spec = new CampaignSpec(request.Name, SeedlessConfigJson(config), CodeVersion.Current, (long)request.FirstSeed, (long?)request.LastSeed,
            deadline, (long)request.Lease.TotalMilliseconds, request.KeepPassing, request.StopAtFirst);
        using ICampaignStore store = journal.OpenCampaigns();
        CampaignInfo info = store.CreateOrJoin(spec);
        return new CampaignSeedSource(journal, info, config, report);
    }

    /// <summary>Continues a campaign as stored: its config, seeds and deadline.</summary>
    /// <param name="name">Which campaign; may be left out when the journal holds only one.</param>
    public static (CampaignSeedSource Source, TwinConfig Config) Resume(IJournal journal, string? name, Action<string> report)
    {
        using ICampaignStore store = journal.OpenCampaigns();
        CampaignInfo info;
        if (name is not null)
        {
            info = store.Find(name) ?? throw new JournalFormatException($"{journal.Uri} has no campaign '{name}'{Known(store)}");
        }
        else
        {
            IReadOnlyList<CampaignInfo> all = store.List();
            if (all.Count != 1)
            {
                throw new JournalFormatException(all.Count == 0
                    ? $"{journal.Uri} holds no soak campaign to resume"
                    : $"{journal.Uri} holds {all.Count} campaigns; name one with --campaign{Known(store)}");
            }
            info = all[0];
        }
        if (info.Spec.CodeVersion != CodeVersion.Current)
        {
            throw new JournalConflictException($"campaign '{info.Spec.Name}' was run by Twin {info.Spec.CodeVersion}; this is {CodeVersion.Current}, whose runs would not be comparable");
        }
        TwinConfig config = ConfigLoader.FromRunJson(info.Spec.ConfigJson, $"{journal.Uri} campaign '{info.Spec.Name}'");
        return (new CampaignSeedSource(journal, info, config, report), config);
    }

    /// <summary>The config as a campaign stores it: every seed's config but for the seed.</summary>
    public static string SeedlessConfigJson(TwinConfig config) => ConfigLoader.ToJson(config with { Seed = 0 });

    private static string Known(ICampaignStore store)
    {
        IReadOnlyList<CampaignInfo> all = store.List();
        return all.Count == 0 ? "" : $" (it has: {string.Join(", ", all.Select(c => c.Spec.Name))})";
    }
}
