namespace Twin.Actors;

/// <summary>
/// Accumulates a 64-bit hash of actor state in a fixed order. Used for the run's state hash at
/// checkpoints and at the end: the same state, fed in the same order, gives the same hash in any
/// process (unlike string.GetHashCode, which is randomized per process).
/// </summary>
public struct StateHasher
{
    private ulong _h;

    public StateHasher()
    {
        _h = 0xcbf29ce484222325UL;
    }

    public readonly ulong Value => Finalize(_h);

    public void Add(long value) => Add(unchecked((ulong)value));

    public void Add(int value) => Add(unchecked((ulong)(long)value));

    public void Add(bool value) => Add(value ? 1UL : 0UL);

    public void Add(ulong value)
    {
        // One multiply-xorshift round per word: cheap and order-sensitive.
        _h ^= value;
        _h *= 0x100000001b3UL;
        _h ^= _h >> 29;
        _h *= 0xbf58476d1ce4e5b9UL;
    }

    public void Add(string value)
    {
        Add(value.Length);
        foreach (char c in value) Add((ulong)c);
    }

    private static ulong Finalize(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        return h ^ (h >> 33);
    }
}
