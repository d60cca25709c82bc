using System.Globalization;
using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Persistence.Codec;

namespace Twin.Kernel.Tests;

/// <summary>Records every persisted event as "time stream Event(fields)", for exact expectations.</summary>
public sealed class EventLog : EventTap
{
    public List<string> Lines { get; } = [];

    public List<object> Events { get; } = [];

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        Events.Add(evt);
        Lines.Add($"{meta.TimestampNs.ToString(CultureInfo.InvariantCulture)} {evt}");
    }

    /// <summary>Boots a machine with <paramref name="config"/> on seed <paramref name="seed"/> and runs it until virtual <paramref name="untilNs"/>.</summary>
    public static (EventLog Log, Kernel Kernel, ActorSystem System) Run(KernelConfig config, long untilNs, ulong seed = 1)
    {
        var system = new ActorSystem(seed, guardianStrategy: Twin.Actors.Supervision.SupervisorStrategy.StoppingEscalate);
        var log = new EventLog();
        system.Persistence.Taps.Add(log);
        Kernel kernel = Kernel.Boot(system, config);
        system.Run(untilNs: untilNs);
        return (log, kernel, system);
    }
}
