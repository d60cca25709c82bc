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

    /// <summary>"site 1: INT3" / "site 0: v1" / "site 2: torn (v1 + v0)", and where it ran.</summary>
    public static string Describe(TextFetched f)
    {
        string what = f.Byte0 == Twin.Kernel.Text.TextState.Int3 ? "INT3" : f.Byte0 == f.Tail ? $"v{f.Byte0}" : $"torn (first byte v{f.Byte0}, rest v{f.Tail})";
        return $"site {f.Site}: {what} ({f.Context})";
    }

    /// <summary>The INT3 handler's step as a person reads it.</summary>
    public static string Describe(Int3Handled h)
    {
        string at = h.Site < 0 ? "kprobe INT3" : $"INT3 at site {h.Site}";
        return h.Step switch
        {
            Int3Step.Trapped => $"{at}: trap ({(TextContext)h.Value})",
            Int3Step.RefTaken => $"{at}: ref on batch {h.Batch}",
            Int3Step.ArrayRead => h.Value == 0 ? $"{at}: entries of batch {h.Batch}: NULL" : $"{at}: reads batch {h.Value}'s entries (found batch {h.Batch})",
            Int3Step.Emulated => $"{at}: emulates v{h.Value}",
            Int3Step.NotOurs => h.Value == 0 ? $"{at}: not text_poke's" : $"{at}: unclaimed, die()",
            Int3Step.RefPut => $"{at}: ref put",
            Int3Step.Spinning => $"{at}: waits for batch {h.Batch}",
            _ => $"{at}: wait over",
        };
    }

    /// <summary>"text_poke batch 3: P1 INT3 written".</summary>
    public static string Describe(TextPokeStepped s) => $"text_poke batch {s.Batch}: " + s.Phase switch
    {
        TextPokePhase.Began => "P0 begins",
        TextPokePhase.Int3Written => "P1 INT3 written",
        TextPokePhase.Synced1 => "S1 synced",
        TextPokePhase.TailWritten => "P2 tails written",
        TextPokePhase.Synced2 => "S2 synced",
        TextPokePhase.FirstWritten => "P3 first bytes written",
        TextPokePhase.Synced3 => "S3 synced",
        TextPokePhase.VecCleared => "vec = NULL",
        TextPokePhase.NrEntriesCleared => "nr_entries = 0",
        TextPokePhase.DescCleared => "bp_desc = NULL",
        _ => "P4 done",
    };

    /// <summary>"CT_WORK_SYNC set by CPU 0" / "... flushed".</summary>
    public static string Describe(CtWork w) => w.Step switch
    {
        CtWorkStep.Set => $"CT_WORK_SYNC set by CPU {w.From} (sync deferred)",
        CtWorkStep.Refused => $"CT_WORK_SYNC refused (in the kernel): CPU {w.From} sends the IPI",
        _ => "CT_WORK_SYNC flushed: deferred sync_core()",
    };
}
