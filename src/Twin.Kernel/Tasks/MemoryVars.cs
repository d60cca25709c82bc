namespace Twin.Kernel.Tasks;

/// <summary>
/// The user variables of the weak-memory mode's random workload: a few in a region every process
/// maps (shared memory, where GLOBAL_EXPEDITED's cross-process ordering shows), and a few private
/// to each mm. Ids are what <see cref="Events.UserStored"/> and <see cref="Events.UserLoaded"/> carry.
/// </summary>
public static class MemoryVars
{
    /// <summary>Variables per region.</summary>
    public const int PerRegion = 4;

    /// <summary>The <paramref name="k"/>th variable of the region all processes share.</summary>
    public static int Shared(int k) => k;

    /// <summary>The <paramref name="k"/>th private variable of <paramref name="mm"/>.</summary>
    public static int Private(int mm, int k) => ((mm + 1) * PerRegion) + k;
}
