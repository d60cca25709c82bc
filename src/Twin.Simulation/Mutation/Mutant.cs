using Twin.Kernel.Arch;
using Twin.Kernel.Sites;

namespace Twin.Simulation.Mutation;

/// <summary>
/// The kernel model with <see cref="Sites"/> left out, on one architecture profile: one site (a
/// mutant of the plan), or a site with the sites a claim says cover it (a redundancy check).
/// </summary>
public sealed record Mutant(SiteSet Sites, ArchProfile Arch)
{
    /// <summary>"switch_mm.cr3.mb@x86_64", "switch_mm.cr3.mb+switch_mm.cpumask_set_cpu@x86_64".</summary>
    public string Name => $"{string.Join("+", Sites.Each().Select(s => SiteCatalog.Get(s).Name))}@{Arch.Name}";

    /// <summary>What the sites need to be reached (text_poke, isolation, hotplug).</summary>
    public SiteNeeds Needs => Sites.Each().Aggregate(SiteNeeds.None, (n, s) => n | SiteCatalog.Get(s).Needs);
}

/// <summary>How hard to look: the random workload's seeds and events, the litmus scenarios' seeds, whether to look for an observed outcome after a checker already caught a removal.</summary>
public sealed record MutationBudget(ulong FirstSeed, ulong LastSeed, long Events, ulong LitmusFirstSeed, ulong LitmusLastSeed, bool Outcome, int Workers)
{
    public static MutationBudget Default { get; } = new(1, 100, 200_000, 1, 50, Outcome: false, Environment.ProcessorCount);
}
