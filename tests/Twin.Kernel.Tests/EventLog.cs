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

/// <summary>Builds scenario machines in code with fixed timings, so schedules are exact.</summary>
public static class Machines
{
    /// <summary>Every kernel step 100 ns, every IPI 1 µs, slices long enough never to preempt, no random resched.</summary>
    public static TimingConfig Fixed { get; } = new()
    {
        StepNsMin = 100, StepNsMax = 100, IpiNsMin = 1000, IpiNsMax = 1000, SliceNsMin = 10_000_000_000, SliceNsMax = 10_000_000_000,
        ReschedOnIrqExit = 0, IretOnSyscallReturn = 0, RcuPollNs = 5000, StallProbability = 0,
    };

    public static KernelConfig With(int cpus, params TaskSpec[] tasks) => new() { Cpus = cpus, Timing = Fixed, Tasks = tasks };

    public static TaskSpec User(string name, string process, int cpu, params Step[] steps) => new(name, process, cpu, steps, ForkedBy: false);

    public static TaskSpec Kthread(string name, int cpu, params Step[] steps) => new(name, null, cpu, steps, ForkedBy: false);

    public static Step Spin(long ns) => new(StepKind.Spin, Ns: ns);

    public static Step Sleep(long ns) => new(StepKind.Sleep, Ns: ns);

    public static Step Mb(int cmd, int flags = 0, int cpuId = -1) => new(StepKind.Membarrier, Cmd: cmd, Flags: flags, CpuId: cpuId);

    public static Step Do(StepKind kind, int target = 0) => new(kind, Target: target);
}
