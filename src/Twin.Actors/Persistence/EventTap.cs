using Twin.Persistence.Codec;

namespace Twin.Actors.Persistence;

/// <summary>Where and when a persisted event happened.</summary>
/// <param name="Stream">Run-relative persistence id ("cpu-0").</param>
/// <param name="EventIndex">Position of the event in the whole run, from 1.</param>
public readonly record struct EventMeta(string Stream, long SequenceNr, long TimestampNs, long EventIndex);

/// <summary>
/// Observes every persisted event in run order, typed and unboxed. Online checkers attach here
/// during a simulation and get exactly what an offline replay of the journal gives them.
/// A tap only observes: it must not send messages or touch actor state.
/// </summary>
public abstract class EventTap
{
    public abstract void OnEvent<TEvent>(in EventMeta meta, in TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>;
}
