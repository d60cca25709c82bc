using System.Globalization;
using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Tasks;
using Twin.Persistence.Codec;

namespace Twin.Kernel.Tests;

/// <summary>Records every persisted event, for exact expectations (TigerBeetle-style scenario tests).</summary>
public sealed class EventLog : EventTap
{
    public List<(long TimeNs, string Stream, object Event)> Entries { get; } = [];

    public IEnumerable<object> Events => Entries.Select(e => e.Event);

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt) => Entries.Add((meta.TimestampNs, meta.Stream, evt));

    /// <summary>The events of CPU <paramref name="cpu"/>'s stream (and of mm/machine streams when asked), as "Event { ... }" lines.</summary>
    public List<string> Lines(Func<object, bool>? keep = null, string? stream = null) =>
        [.. Entries.Where(e => (stream is null || e.Stream == stream) && (keep is null || keep(e.Event))).Select(e => e.Event.ToString()!)];

    public List<string> TimedLines(Func<object, bool>? keep = null) =>
        [.. Entries.Where(e => keep is null || keep(e.Event)).Select(e => $"{e.TimeNs.ToString(CultureInfo.InvariantCulture)} {e.Event}")];

    /// <summary>Boots a machine and runs it until it goes quiet or virtual <paramref name="untilNs"/>.</summary>
    public static (EventLog Log, Kernel Kernel, ActorSystem System) Run(KernelConfig config, long untilNs = long.MaxValue, ulong seed = 1)
    {
        var system = new ActorSystem(seed, guardianStrategy: Twin.Actors.Supervision.SupervisorStrategy.StoppingEscalate);
        var log = new EventLog();
        system.Persistence.Taps.Add(log);
        Kernel kernel = Kernel.Boot(system, config);
        system.Run(untilNs: untilNs);
        return (log, kernel, system);
    }
}
