using Twin.Kernel.Events;
using Twin.Kernel.Sites;

namespace Twin.Simulation.Config;

/// <summary>
/// What <c>omit</c> (and <c>--omit</c>) take: site names (<c>membarrier.a</c>,
/// <c>switch_mm.cr3.mb</c>; docs/mutate.md lists them), a barrier reason (every barrier site of
/// it, as <c>litmus.omitBarrier</c> took it), or <c>none</c>; several separated by commas.
/// </summary>
public static class OmitNames
{
    public static SiteSet Parse(string text, string where)
    {
        SiteSet set = SiteSet.Empty;
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.Equals("none", StringComparison.OrdinalIgnoreCase)) continue;
            if (SiteCatalog.Find(part) is { } site) set = set.With(site.Site);
            else if (Enum.TryParse(part, ignoreCase: true, out BarrierReason r) && Enum.IsDefined(r) && !char.IsDigit(part[0])) set = set.Union(SiteCatalog.BarriersOf(r));
            else throw new ConfigException($"{where}: '{part}' is neither a site ({string.Join(", ", SiteCatalog.All.Select(s => s.Name))}) nor a barrier reason ({string.Join(", ", Enum.GetNames<BarrierReason>())})");
        }
        return set;
    }
}
