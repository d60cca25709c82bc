using System.Diagnostics;
using Twin.Checking;
using Twin.Kernel.Arch;
using Twin.Kernel.Sites;
using Twin.Persistence;
using Twin.Simulation.Config;
using Twin.Simulation.Litmus;
using Twin.Simulation.Running;
using Twin.Simulation.Soak;

namespace Twin.Simulation.Mutation;

/// <summary>Progress of a mutation run: mutants done of all, and the one running.</summary>
public readonly record struct MutationProgress(int Done, int Total, string Current);

/// <summary>
/// Runs each mutant: the random workload in the weak-memory mode until its first failing seed
/// (all seeds in parallel, a soak campaign kept in the journal when there is one, so a killed run
/// resumes where it stopped), then, if it survived (or with <c>--outcome</c>), each litmus scenario
/// that reaches the left-out site until its forbidden outcome comes up. A survivor's claim
/// (<see cref="SiteClaims"/>) is checked by removing the sites it names with it.
/// </summary>
public sealed class MutationRunner(MutationBudget budget, IReadOnlyList<string> litmusScenarios, IJournal? journal, string campaignPrefix, Action<string> report)
{
    /// <summary>Properties that stand for an observed outcome rather than a checker's rule.</summary>
    public static readonly IReadOnlySet<string> OutcomeProperties = new HashSet<string>(StringComparer.Ordinal) { "P-OBS", LitmusSpec.Property };

    /// <summary>Every site on every profile that has it, narrowed to <paramref name="sites"/> and <paramref name="archs"/> when given.</summary>
    public static IReadOnlyList<Mutant> Plan(IReadOnlyCollection<OrderingSite>? sites, IReadOnlyCollection<ArchProfile>? archs) =>
        [.. from s in SiteCatalog.All
            where sites is null || sites.Contains(s.Site)
            from a in ArchProfile.All
            where (archs is null || archs.Contains(a)) && s.On(a)
            select new Mutant(SiteSet.Of(s.Site), a)];

    public IReadOnlyList<MutantResult> Run(IReadOnlyList<Mutant> mutants, Action<MutationProgress>? onProgress = null, CancellationToken cancel = default)
    {
        var results = new List<MutantResult>(mutants.Count);
        for (int i = 0; i < mutants.Count && !cancel.IsCancellationRequested; i++)
        {
            onProgress?.Invoke(new MutationProgress(i, mutants.Count, mutants[i].Name));
            MutantResult r = RunOne(mutants[i], cancel);
            if (!r.Killed && SiteClaims.For(r.Mutant.Sites.Each().First(), r.Mutant.Arch) is { } claim)
            {
                MutantResult? check = null;
                if (claim.CoveredBy.Count > 0 && r.Reached > 0)
                {
                    var joint = new Mutant(r.Mutant.Sites.Union(SiteSet.Of(claim.CoveredBy)), r.Mutant.Arch);
                    onProgress?.Invoke(new MutationProgress(i, mutants.Count, joint.Name));
                    check = RunOne(joint, cancel);
                }
                r = r with { Claim = claim, Check = check };
            }
            results.Add(r);
        }
        onProgress?.Invoke(new MutationProgress(results.Count, mutants.Count, ""));
        return results;
    }

    private MutantResult RunOne(Mutant m, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        long reached = 0;
        void Count(SimulationResult r) => Interlocked.Add(ref reached, r.OmittedReached);
        TwinConfig random = MutantConfigs.Random(m, budget);
        Kill? kill = RandomPart(m, random, clock, Count, cancel);
        Kill? outcome = null;
        if (kill is null || (budget.Outcome && kill.Evidence != Evidence.Outcome))
        {
            foreach (string scenario in litmusScenarios)
            {
                if (cancel.IsCancellationRequested) break;
                outcome = LitmusPart(m, scenario, clock, Count, cancel);
                if (outcome is not null) break;
            }
        }
        if (Interlocked.Read(ref reached) == 0 && !cancel.IsCancellationRequested)
        {
            // A campaign read back from the journal ran nothing here: one run says whether the site is reached at all.
            Count(SimulationRunner.Run(random with { Seed = budget.FirstSeed }, journal: null, $"mutate-probe-{m.Name}"));
        }
        if (kill is null)
        {
            kill = outcome;
            outcome = null;
        }
        return new MutantResult(m, kill, outcome, Interlocked.Read(ref reached), clock.Elapsed.TotalSeconds, null, null);
    }

    /// <summary>The random workload, seeds in parallel, until the first failing seed.</summary>
    private Kill? RandomPart(Mutant m, TwinConfig config, Stopwatch clock, Action<SimulationResult> onRun, CancellationToken cancel)
    {
        ISeedSource source;
        if (journal is null)
        {
            source = new SeedRange(budget.FirstSeed, budget.LastSeed, null);
        }
        else
        {
            var request = new CampaignRequest($"{campaignPrefix}/{m.Name}", budget.FirstSeed, budget.LastSeed, null, TimeSpan.FromSeconds(30), 0, StopAtFirst: true);
            source = Campaigns.CreateOrJoin(journal, config, request, report);
        }
        try
        {
            SoakResult r = SoakRunner.Run(config, source, budget.Workers, stopAtFirst: true, cancel: cancel, onRun: onRun);
            SoakRun? first = r.Failing.OrderBy(f => f.Seed).FirstOrDefault();
            return first is null ? null : KillOf("random", first, clock);
        }
        finally
        {
            (source as IDisposable)?.Dispose();
        }
    }

    /// <summary>One litmus scenario, if the mutant's sites are reached in it, until its forbidden outcome comes up.</summary>
    private Kill? LitmusPart(Mutant m, string scenario, Stopwatch clock, Action<SimulationResult> onRun, CancellationToken cancel)
    {
        TwinConfig config = MutantConfigs.Litmus(m, scenario);
        string part = $"litmus {Path.GetFileName(scenario)}";
        // The first seed's run says whether the scenario reaches the sites at all; its outcome
        // counts as that seed's, and the other seeds run only when it is reached and not forbidden.
        ulong seed = budget.LitmusFirstSeed;
        SimulationResult probe = SimulationRunner.Run(config with { Seed = seed }, journal: null, $"mutate-{m.Name}-probe");
        onRun(probe);
        if (probe.OmittedReached == 0) return null;
        Violation[] forbidden = [.. probe.Violations.Where(IsForbidden)];
        if (forbidden.Length > 0) return KillOf(part, new SoakRun(seed, probe.Events, probe.StateHash, probe.WallSeconds, forbidden, null), clock);
        if (seed == budget.LitmusLastSeed) return null;
        var seeds = new SeedRange(seed + 1, budget.LitmusLastSeed, null);
        SoakResult r = SoakRunner.Run(config, seeds, budget.Workers, stopAtFirst: true, cancel: cancel, counts: IsForbidden, onRun: onRun);
        SoakRun? first = r.Failing.OrderBy(f => f.Seed).FirstOrDefault();
        return first is null ? null : KillOf(part, first, clock);
    }

    private static bool IsForbidden(Violation v) => v.Property == LitmusSpec.Property;

    private static Kill KillOf(string part, SoakRun run, Stopwatch clock)
    {
        string[] properties = [.. run.Violations.Select(v => v.Property).Distinct().Order(StringComparer.Ordinal)];
        Violation shown = run.Violations.FirstOrDefault(v => OutcomeProperties.Contains(v.Property)) ?? run.Violations[0];
        Evidence evidence = properties.Any(OutcomeProperties.Contains) ? Evidence.Outcome : Evidence.Contract;
        return new Kill(part, run.Seed, clock.Elapsed.TotalSeconds, properties, shown.Message, evidence, run.Journal);
    }
}
