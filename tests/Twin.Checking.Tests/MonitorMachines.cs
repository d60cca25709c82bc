using Twin.Actors;
using Twin.Checking;
using Twin.Kernel;

namespace Twin.Checking.Tests;

/// <summary>Runs machines built with <see cref="Twin.Kernel.Tests.Machines"/> with every monitor attached.</summary>
public static class MonitorMachines
{
    /// <summary>Runs the machine to quiet with all monitors; returns their violations.</summary>
    public static IReadOnlyList<Violation> Check(KernelConfig config, ulong seed = 1)
    {
        var system = new ActorSystem(seed, guardianStrategy: Twin.Actors.Supervision.SupervisorStrategy.StoppingEscalate);
        MonitorSet monitors = MonitorSet.All(new MachineFacts(config.Cpus, config.NohzFull));
        system.Persistence.Taps.AddRange(monitors.Taps);
        Kernel.Kernel.Boot(system, config);
        system.Run();
        return monitors.Violations();
    }
}
