namespace Twin.Kernel;

/// <summary>Bounds on the simulated machine. Related limits are asserted together here.</summary>
public static class Limits
{
    public const int MinCpus = 1;

    public const int MaxCpus = 256;

    /// <summary>64-bit words of an mm_cpumask bitset.</summary>
    public const int CpumaskWords = MaxCpus / 64;

    public const int MaxTasks = 100_000;

    static Limits()
    {
        if (MaxCpus % 64 != 0) throw new InvalidOperationException("a cpumask is a whole number of 64-bit words");
    }
}
