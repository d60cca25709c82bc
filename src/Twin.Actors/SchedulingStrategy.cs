namespace Twin.Actors;

/// <summary>
/// Chooses which ready actor handles its next message when several are ready at the same
/// virtual instant: the one nondeterministic choice of the runtime, made from the seeded source
/// (Coyote's exploration strategy). Later strategies (PCT, biased preemption) plug in here.
/// </summary>
public interface ISchedulingStrategy
{
    /// <summary>Index into <paramref name="readyActorIds"/> (ids in the order actors became ready).</summary>
    int Pick(ReadOnlySpan<int> readyActorIds, DeterministicRandom random);
}

/// <summary>Uniformly random among the ready actors.</summary>
public sealed class RandomSchedulingStrategy : ISchedulingStrategy
{
    public static RandomSchedulingStrategy Instance { get; } = new();

    public int Pick(ReadOnlySpan<int> readyActorIds, DeterministicRandom random) =>
        readyActorIds.Length == 1 ? 0 : random.NextInt(readyActorIds.Length);
}
