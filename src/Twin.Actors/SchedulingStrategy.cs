namespace Twin.Actors;

/// <summary>
/// Chooses which ready actor handles its next message when several are ready at the same
/// virtual instant: the one nondeterministic choice of the runtime, made from the seeded source
/// (Coyote's exploration strategy). Later strategies (PCT, biased preemption) plug in here.
/// </summary>
public interface ISchedulingStrategy
{
    /// <summary>Index into <paramref name="readyActorIds"/> (ids in the loop's canonical order: actor path, then creation).</summary>
    int Pick(ReadOnlySpan<int> readyActorIds, DeterministicRandom random);
}

/// <summary>Uniformly random among the ready actors.</summary>
public sealed class RandomSchedulingStrategy : ISchedulingStrategy
{
    public static RandomSchedulingStrategy Instance { get; } = new();

    public int Pick(ReadOnlySpan<int> readyActorIds, DeterministicRandom random) =>
        readyActorIds.Length == 1 ? 0 : random.NextInt(readyActorIds.Length);
}

/// <summary>
/// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010; Coyote's PCT strategy):
/// every actor gets a random priority when first ready, the highest-priority ready actor runs, and
/// at <c>depth - 1</c> change points, drawn at random over the first <c>horizon</c> picks, the
/// actor about to run drops below every other. A bug that needs d ordering constraints is found
/// with probability at least 1/(n·k^(d-1)) per run, where uniform random can be exponentially less
/// likely. Deterministic: priorities and change points come from the seed.
/// </summary>
public sealed class PctSchedulingStrategy : ISchedulingStrategy
{
    private readonly DeterministicRandom _random;
    private readonly long[] _changePoints;
    private readonly Dictionary<int, long> _priority = [];
    private long _step;
    private int _nextChange;
    private long _lowest = -1;

    public PctSchedulingStrategy(ulong seed, int depth, long horizon)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(horizon, 1);
        _random = new DeterministicRandom(seed ^ 0x5043545043545043UL);
        _changePoints = new long[depth - 1];
        for (int i = 0; i < _changePoints.Length; i++) _changePoints[i] = _random.NextLong(0, horizon - 1);
        Array.Sort(_changePoints);
    }

    public int Pick(ReadOnlySpan<int> readyActorIds, DeterministicRandom random)
    {
        int best = Highest(readyActorIds);
        if (_nextChange < _changePoints.Length && _changePoints[_nextChange] <= _step)
        {
            // A change point: the actor about to run drops below everyone.
            _priority[readyActorIds[best]] = _lowest--;
            _nextChange++;
            best = Highest(readyActorIds);
        }
        _step++;
        return best;
    }

    private int Highest(ReadOnlySpan<int> readyActorIds)
    {
        int best = 0;
        long bestPriority = long.MinValue;
        for (int i = 0; i < readyActorIds.Length; i++)
        {
            long p = PriorityOf(readyActorIds[i]);
            if (p > bestPriority)
            {
                bestPriority = p;
                best = i;
            }
        }
        return best;
    }

    private long PriorityOf(int actor)
    {
        if (!_priority.TryGetValue(actor, out long p)) _priority[actor] = p = (long)(_random.NextUInt64() >> 2);
        return p;
    }
}
