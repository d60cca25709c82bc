using Twin.Actors.Persistence;
using Twin.Checking;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;

namespace Twin.Traces.Export;

/// <summary>
/// Records the events of a window of a run (by event index: a simulation's events, a trace's
/// lines) and each CPU's state when it opens, read from the <see cref="KernelView"/> tapped after
/// it. A trace's per-line <see cref="ContextSeen"/> is left out: it is what the other events are
/// rebuilt from, not something to draw.
/// </summary>
public sealed class TimelineWindow(long from, long to, KernelView view, int cpus) : EventTap
{
    public List<TimelineEvent> Events { get; } = [];

    public List<CpuStart> Start { get; } = [];

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        long i = meta.EventIndex;
        if (i < from || i > to) return;
        if (Start.Count == 0)
        {
            for (int c = 0; c < cpus; c++) Start.Add(new CpuStart(view.Curr[c], view.Mode[c] == CpuMode.User, view.Lazy[c]));
        }
        if (typeof(TEvent) == typeof(ContextSeen)) return;
        Events.Add(new TimelineEvent(i, meta.TimestampNs, meta.Stream, evt));
    }
}
