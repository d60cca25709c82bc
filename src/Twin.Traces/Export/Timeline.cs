using Twin.Checking;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Lam;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Faults;

namespace Twin.Traces.Export;

/// <summary>One event of a run, with where it sits in the run.</summary>
public sealed record TimelineEvent(long Index, long TimeNs, string Stream, object Event);

/// <summary>A CPU's state when the window opens: the running task and whether it was in user mode or lazy.</summary>
public sealed record CpuStart(int Curr, bool User, bool Lazy);

/// <summary>A window of a run's events and its violations: what an exporter draws.</summary>
public sealed record Timeline(string Title, int Cpus, IReadOnlyList<TimelineEvent> Events, IReadOnlyList<Violation> Violations)
{
    /// <summary>Each CPU's state at the first event of the window (empty: every CPU idle).</summary>
    public IReadOnlyList<CpuStart> Start { get; init; } = [];

    public long StartNs => Events.Count == 0 ? 0 : Events[0].TimeNs;

    public long EndNs => Events.Count == 0 ? 0 : Events[^1].TimeNs;

    /// <summary>The name a task prints as in ftrace (idle tasks are swapper/N).</summary>
    public static string TaskName(int task) => KernelIds.TaskName(task);

    /// <summary>The events to show around the violations (or the start of the run): a window of event indices.</summary>
    public static (long From, long To) WindowFor(IReadOnlyList<Violation> violations, long totalEvents, long before = 60, long after = 20, long max = 3000)
    {
        if (violations.Count == 0) return (1, Math.Min(totalEvents, max));
        Violation first = violations.MinBy(v => v.EventIndex)!;
        long from = Math.Max(1, Math.Min(first.WindowStart, first.EventIndex) - before);
        long to = Math.Min(totalEvents, first.EventIndex + after);
        if (to - from + 1 > max) from = to - max + 1;
        return (from, to);
    }

    /// <summary>A fault as a person reads it: "IpiDrop of Mb to CPU 2 (+1000000 ns)".</summary>
    public static string Describe(FaultInjected f) => f.Kind switch
    {
        FaultKind.IpiDrop or FaultKind.IpiDelay or FaultKind.IpiDuplicate => $"{f.Kind} of {(IpiKind)f.What} IPI to CPU {f.Target} (+{f.Ns} ns)",
        FaultKind.SkipBarrier => $"{f.Kind} {(BarrierReason)f.What}",
        FaultKind.SkipSerialize => $"{f.Kind} {(CoreSerializeReason)f.What}",
        _ => f.Kind.ToString(),
    };

    /// <summary>"arch_prctl(ARCH_ENABLE_TAGGED_ADDR, 6) = 0", with -errno names; the untag mask in hex.</summary>
    public static string Describe(ArchPrctlReturned a)
    {
        string ret = a.Option == ArchPrctlOption.GetUntagMask ? "0x" + a.Ret.ToString("x", System.Globalization.CultureInfo.InvariantCulture)
            : a.Ret < 0 ? "-" + Errno.Name((int)-a.Ret)
            : a.Ret.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"arch_prctl({ArchPrctlOption.Name(a.Option)}, {a.Arg}) = {ret}";
    }
}
