using Twin.Actors.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Checking;

/// <summary>
/// A checker of one property that only observes the event stream: it never sends, never changes
/// actor state. The same instance runs online (as a tap during a simulation) and offline (fed by
/// a replay of a journal), so both report the same violations. It reads the
/// <see cref="KernelView"/> as it was before the event being handled.
/// </summary>
public abstract class Monitor : EventTap
{
    /// <summary>Violations kept per monitor; later ones are counted, not stored, so memory stays bounded.</summary>
    public const int MaxKeptViolations = 100;

    private readonly List<Violation> _violations = [];

    /// <summary>Property id as in kernel-model §8.</summary>
    public abstract string Property { get; }

    /// <summary>The guarantee, in the kernel's (or the man page's) own words.</summary>
    public abstract string Guarantee { get; }

    public IReadOnlyList<Violation> Violations => _violations;

    public long ViolationCount { get; private set; }

    /// <summary>The derived machine state; set by the <see cref="MonitorSet"/>.</summary>
    protected internal KernelView View { get; internal set; } = new();

    protected void Report(in EventMeta meta, int cpu, int mm, string message, int task = 0, long windowStart = 0, string? property = null)
    {
        ViolationCount++;
        if (_violations.Count >= MaxKeptViolations) return;
        _violations.Add(new Violation(property ?? Property, meta.TimestampNs, cpu, mm, meta.EventIndex, message)
        {
            Task = task,
            WindowStart = windowStart == 0 ? meta.EventIndex : windowStart,
            Guarantee = Guarantee,
        });
    }

    /// <summary>Reinterprets <paramref name="evt"/> when <typeparamref name="TEvent"/> is <typeparamref name="T"/>; the JIT folds the check per instantiation.</summary>
    protected static bool Is<TEvent, T>(in TEvent evt, out T value)
        where TEvent : struct, IJournaledEvent<TEvent>
        where T : struct => KernelView.Is(in evt, out value);
}
