using System.Numerics;

namespace Twin.Kernel.Sites;

/// <summary>A set of <see cref="OrderingSite"/>s, as a value: the sites a run leaves out.</summary>
public readonly record struct SiteSet(ulong Bits)
{
    public static SiteSet Empty => default;

    public bool IsEmpty => Bits == 0;

    public int Count => BitOperations.PopCount(Bits);

    public bool Contains(OrderingSite site) => (Bits & (1UL << (int)site)) != 0;

    public SiteSet With(OrderingSite site) => new(Bits | (1UL << (int)site));

    public SiteSet Union(SiteSet other) => new(Bits | other.Bits);

    /// <summary>The sites in catalogue order.</summary>
    public IEnumerable<OrderingSite> Each()
    {
        for (ulong b = Bits; b != 0; b &= b - 1) yield return (OrderingSite)BitOperations.TrailingZeroCount(b);
    }

    public static SiteSet Of(params IEnumerable<OrderingSite> sites)
    {
        SiteSet s = Empty;
        foreach (OrderingSite site in sites) s = s.With(site);
        return s;
    }

    public override string ToString() => IsEmpty ? "none" : string.Join(",", Each().Select(s => SiteCatalog.Get(s).Name));
}
