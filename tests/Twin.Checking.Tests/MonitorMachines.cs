using Twin.Checking;
using Twin.Kernel;
using Twin.Kernel.Tests;

namespace Twin.Checking.Tests;

/// <summary>Runs machines built with <see cref="Twin.Kernel.Tests.Machines"/> with every monitor attached.</summary>
public static class MonitorMachines
{
    /// <summary>Runs the machine to quiet with all monitors; returns their violations.</summary>
    public static IReadOnlyList<Violation> Check(KernelConfig config, ulong seed = 1)
    {
        MonitorSet monitors = MonitorSet.All(new MachineFacts(config.Cpus, config.NohzFull));
        EventLog.Run(config, seed: seed, taps: [.. monitors.Taps]);
        return monitors.Violations();
    }
}
