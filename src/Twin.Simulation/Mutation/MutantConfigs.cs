using System.Globalization;
using Twin.Kernel.Sites;
using Twin.Simulation.Config;

namespace Twin.Simulation.Mutation;

/// <summary>
/// The configs a mutant runs under: the random workload in the weak-memory mode (with the model
/// features its sites need to be reached), and each litmus scenario on the mutant's profile; the
/// mutant's sites left out of both.
/// </summary>
public static class MutantConfigs
{
    /// <summary>CPU hotplug for sites reached only when a CPU comes back online: taken down when a call or a shootdown starts elsewhere.</summary>
    private static readonly string[] s_hotplug = ["hotplug:on=membarrier,p=0.02,downNs=20000..200000", "hotplug:on=shootdown,p=0.02,downNs=20000..200000"];

    public static TwinConfig Random(Mutant m, MutationBudget budget)
    {
        var overrides = Common(m);
        overrides.Add(("memory.weak", "true", "twin mutate"));
        overrides.Add(("run.events", budget.Events.ToString(CultureInfo.InvariantCulture), "twin mutate"));
        if ((m.Needs & (SiteNeeds.TextPoke | SiteNeeds.Isolation)) != 0 && m.Arch.IsX86)
        {
            overrides.Add(("textPoke.enabled", "true", "twin mutate (text_poke sites)"));
            overrides.Add(("workload.weights.textPoke", "12", "twin mutate (text_poke sites)"));
        }
        if ((m.Needs & SiteNeeds.Isolation) != 0)
        {
            overrides.Add(("isolation.cpus", "2-3", "twin mutate (isolation sites)"));
            overrides.Add(("isolation.defer", "true", "twin mutate (isolation sites)"));
        }
        if ((m.Needs & SiteNeeds.Hotplug) != 0)
        {
            for (int i = 0; i < s_hotplug.Length; i++) overrides.Add(($"faults.{i}", s_hotplug[i], "twin mutate (hotplug sites)"));
        }
        return ConfigLoader.Load(null, overrides);
    }

    public static TwinConfig Litmus(Mutant m, string scenarioPath) => ConfigLoader.Load(null, Common(m), scenarioPath);

    private static List<(string Key, string Value, string Source)> Common(Mutant m)
    {
        var overrides = new List<(string, string, string)> { ("arch", m.Arch.Name, "twin mutate") };
        int i = 0;
        foreach (OrderingSite s in m.Sites.Each()) overrides.Add(($"omit.{i++}", SiteCatalog.Get(s).Name, "twin mutate"));
        return overrides;
    }
}
