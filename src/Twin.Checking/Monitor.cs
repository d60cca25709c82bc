using System.Runtime.CompilerServices;
using Twin.Actors.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Checking;

/// <summary>
/// A checker of one property that only observes the event stream: it never sends, never changes
/// actor state. The same instance runs online (as a tap during a simulation) and offline (fed by
/// a replay of a journal), so both report the same violations.
/// </summary>
public abstract class Monitor : EventTap
{
    /// <summary>Violations kept per monitor; later ones are counted, not stored, so memory stays bounded.</summary>
    public const int MaxKeptViolations = 100;

    private readonly List<Violation> _violations = [];

    /// <summary>Property id as in kernel-model §8.</summary>
    public abstract string Property { get; }

    public IReadOnlyList<Violation> Violations => _violations;

    public long ViolationCount { get; private set; }

    protected void Report(in EventMeta meta, int cpu, int mm, string message)
    {
        ViolationCount++;
        if (_violations.Count < MaxKeptViolations) _violations.Add(new Violation(Property, meta.TimestampNs, cpu, mm, meta.EventIndex, message));
    }

    /// <summary>Reinterprets <paramref name="evt"/> when <typeparamref name="TEvent"/> is <typeparamref name="T"/>; the JIT folds the check per instantiation.</summary>
    protected static bool Is<TEvent, T>(in TEvent evt, out T value)
        where TEvent : struct, IJournaledEvent<TEvent>
        where T : struct
    {
        if (typeof(TEvent) == typeof(T))
        {
            value = Unsafe.As<TEvent, T>(ref Unsafe.AsRef(in evt));
            return true;
        }
        value = default;
        return false;
    }
}
