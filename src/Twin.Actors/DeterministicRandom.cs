namespace Twin.Actors;

/// <summary>
/// The one source of randomness inside a simulation: xoshiro256** seeded through SplitMix64.
/// Its output is fixed by the seed on every platform and .NET version, which System.Random's is
/// not documented to be. Nothing in a simulation may call System.Random, the clock, or the
/// thread pool; everything draws from here.
/// </summary>
public sealed class DeterministicRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public DeterministicRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>Number of values drawn so far; part of the runtime's fingerprint in tests.</summary>
    public long Draws { get; private set; }

    public ulong NextUInt64()
    {
        Draws++;
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, <paramref name="maxExclusive"/>), without modulo bias (Lemire's method).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "must be positive");
        ulong bound = (ulong)maxExclusive;
        while (true)
        {
            ulong r = NextUInt64();
            UInt128 m = (UInt128)r * bound;
            ulong low = (ulong)m;
            if (low >= bound || low >= (0UL - bound) % bound) return (int)(m >> 64);
        }
    }

    /// <summary>Uniform in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public long NextLong(long min, long max)
    {
        if (max < min) throw new ArgumentOutOfRangeException(nameof(max), max, $"must be ≥ {min}");
        ulong span = (ulong)(max - min) + 1;
        if (span == 0) return (long)NextUInt64();
        ulong limit = ulong.MaxValue - (ulong.MaxValue % span);
        ulong r;
        do { r = NextUInt64(); } while (r >= limit);
        return min + (long)(r % span);
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => p > 0 && (p >= 1 || NextDouble() < p);

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
