using Twin.Checking;
using Twin.Checking.Conformance;
using Twin.Kernel.Arch;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Simulation.Conformance;

/// <summary>A place where the model's prediction differs from what the kernel did: a kernel bug or a model bug.</summary>
public sealed record Divergence(string Aspect, long Line, long ReturnLine, long TimeNs, int Cpu, int Task, string Command, string Trace, string Model, string Message);

/// <summary>
/// Compares each traced membarrier call with the kernel model's own run of it from the same
/// starting point (<see cref="ModelExperiment"/>): which CPUs got the command's callback (and
/// which callback), and the return value. Experiments are cached by their starting point, so a
/// trace of a thousand calls runs a handful.
/// </summary>
public sealed class ConformanceCheck(ArchProfile arch, ulong seed)
{
    public const string Targets = "IPI targets";
    public const string Return = "return value";

    public const string StateBeforeTrace = "the process began before the trace and no call of it has shown the registration this one depends on";
    public const string OwnReturn = "the process began before the trace: this call's own return is the only evidence of the registration it depends on";
    public const string NotSeenYet = "a CPU where model and trace differ had logged no line yet (its ring buffer began later, or its lines were lost): what it ran is unknown";
    public const string ExitingTask = "a CPU where model and trace differ ran a task that was exiting or exec'ing: exit_mm() clears, and exec_mmap() replaces, current->mm at a point no tracepoint shows";
    public const string CallerMoved = "the caller's CPU switched tasks or lost events inside the call";
    public const string SwitchedInside = "a CPU where model and trace differ switched to a task of another kind (caller's process, other, kernel thread, idle) inside the call: the trace does not show when membarrier read its rq->curr";
    public const string SwitchedAtReturn = "a CPU where model and trace differ switched to a task of another kind right after the return: __schedule() sets rq->curr before sched_switch fires";
    public const string LostEvents = "a CPU where model and trace differ lost events";
    public const string NotSettled = "a CPU where model and trace differ shows nothing after the return before the trace ends";
    public const string NotInTrace = "a CPU the kernel sent the callback to logged nothing before the call (a --cpu trace shows one CPU only)";
    public const string OtherStateUnknown = "a CPU where model and trace differ runs a process (the caller's or another) whose GLOBAL_EXPEDITED registration the trace does not show";

    private readonly Dictionary<string, RecordedCall> _predictions = new(StringComparer.Ordinal);
    private readonly List<Divergence> _divergences = [];

    public const int KeepDivergences = 50;

    public SortedDictionary<string, PropertyTally> Aspects { get; } = new(StringComparer.Ordinal) { [Targets] = new(), [Return] = new() };

    public IReadOnlyList<Divergence> Divergences => _divergences;

    public long Calls { get; private set; }

    public int Experiments => _predictions.Count;

    public void OnCall(RecordedCall observed)
    {
        Calls++;
        if (!observed.MmKnown && !observed.StateFromReturn)
        {
            Aspects[Targets].Unknown(StateBeforeTrace);
            Aspects[Return].Unknown(StateBeforeTrace);
            return;
        }
        string key = ModelExperiment.KeyOf(observed);
        if (!_predictions.TryGetValue(key, out RecordedCall? model))
        {
            model = ModelExperiment.Predict(observed, arch, seed);
            _predictions[key] = model;
        }
        CompareReturn(observed, model);
        CompareTargets(observed, model);
    }

    private void CompareReturn(RecordedCall observed, RecordedCall model)
    {
        if (observed.StateFromReturn)
        {
            Aspects[Return].Unknown(OwnReturn);
            return;
        }
        if (observed.Ret == model.Ret)
        {
            Aspects[Return].Pass();
            return;
        }
        Diverge(Return, observed, Ret(observed.Ret), Ret(model.Ret),
            $"membarrier({MembarrierCmd.Name(observed.Cmd)}) returned {Ret(observed.Ret)}; the model, from the same state, returns {Ret(model.Ret)}");
    }

    private void CompareTargets(RecordedCall observed, RecordedCall model)
    {
        ulong differ = observed.Ipis ^ model.Ipis;
        bool kindDiffers = observed.Ipis != 0 && model.Ipis != 0 && observed.Kinds != model.Kinds;
        if (differ == 0 && !kindDiffers)
        {
            Aspects[Targets].Pass();
            return;
        }
        if (UncertainReason(observed, differ) is string reason && !kindDiffers)
        {
            Aspects[Targets].Unknown(reason);
            return;
        }
        string trace = Mask(observed.Ipis, observed.Kinds), predicted = Mask(model.Ipis, model.Kinds);
        Diverge(Targets, observed, trace, predicted,
            $"membarrier({MembarrierCmd.Name(observed.Cmd)}) on CPU {observed.Cpu} reached {trace}; the model, from the same state ({Machine(observed)}), reaches {predicted}{B21(observed, differ)}");
    }

    /// <summary>Why the CPUs that differ may be the trace's blind spots rather than a divergence; null when none of them is.</summary>
    private static string? UncertainReason(RecordedCall c, ulong differ)
    {
        if (((c.Switched | c.Lost) & Bit(c.Cpu)) != 0) return CallerMoved;
        string? reason = null;
        for (int cpu = 0; cpu < 64; cpu++)
        {
            if ((differ & Bit(cpu)) == 0) continue;
            string? why = cpu >= c.Cpus ? NotInTrace
                : c.Running[cpu] == CpuRunning.Unseen ? NotSeenYet
                : (c.Lost & Bit(cpu)) != 0 ? LostEvents
                : (c.Exiting & Bit(cpu)) != 0 ? ExitingTask
                : (c.Mixed & Bit(cpu)) != 0 ? SwitchedInside
                : (c.MixedAtReturn & Bit(cpu)) != 0 ? SwitchedAtReturn
                : (c.Unsettled & Bit(cpu)) != 0 ? NotSettled
                : c.Cmd == MembarrierCmd.GlobalExpedited && c.Running[cpu] is CpuRunning.OtherMm or CpuRunning.CallerMm && !c.RunningMmKnown[cpu] ? OtherStateUnknown
                : null;
            if (why is null) return null; // one CPU the trace shows plainly differs: a divergence
            reason ??= why;
        }
        return reason;
    }

    /// <summary>Names B21's path (docs/bugs/B21.md) where the trace shows it on a CPU the kernel skipped: the model's default closes that gap.</summary>
    private static string B21(RecordedCall c, ulong differ)
    {
        if (c.Cmd != MembarrierCmd.GlobalExpedited) return "";
        ulong skipped = differ & c.CopyCleared & ~c.Ipis;
        if (skipped == 0) return "";
        int cpu = System.Numerics.BitOperations.TrailingZeroCount(skipped);
        return $"; on CPU {cpu} the trace shows exit_mm() of task {c.ClearedBy[cpu]} clearing rq->membarrier_state and only switches to threads of the same mm since " +
            "(membarrier_switch_mm() keeps the cleared copy): the kernel took Twin's B21 path, which the model closes by default (--bug B21 is mainline as it is)";
    }

    private void Diverge(string aspect, RecordedCall c, string trace, string model, string message)
    {
        var v = new Violation(aspect, c.ReturnNs, c.Cpu, c.Mm, c.Line, $"line {c.Line}: {message}") { Task = c.Task, WindowStart = c.Line };
        Aspects[aspect].Fail(v);
        if (_divergences.Count < KeepDivergences)
        {
            _divergences.Add(new Divergence(aspect, c.Line, c.ReturnLine, c.ReturnNs, c.Cpu, c.Task, MembarrierCmd.Name(c.Cmd), trace, model, $"line {c.Line}: {message}"));
        }
    }

    private static string Machine(RecordedCall c) =>
        string.Join(", ", Enumerable.Range(0, c.Cpus).Select(cpu => $"CPU {cpu} {(cpu == c.Cpu ? "the caller" : Describe(c.Running[cpu]))}"));

    private static string Describe(CpuRunning r) => r switch
    {
        CpuRunning.CallerMm => "a thread of the caller's process",
        CpuRunning.OtherMm => "another process",
        CpuRunning.Kthread => "a kernel thread",
        CpuRunning.Unseen => "not seen yet",
        _ => "idle",
    };

    private static string Mask(ulong cpus, int kinds)
    {
        if (cpus == 0) return "no CPU";
        string list = string.Join(",", Enumerable.Range(0, 64).Where(c => (cpus & (1UL << c)) != 0));
        string callbacks = string.Join(" and ", Enum.GetValues<IpiKind>().Where(k => (kinds & (1 << (int)k)) != 0).Select(Callback));
        return $"CPUs {{{list}}} with {callbacks}";
    }

    public static string Callback(IpiKind kind) => kind switch
    {
        IpiKind.Mb => "ipi_mb",
        IpiKind.SyncCore => "ipi_sync_core",
        IpiKind.Rseq => "ipi_rseq",
        IpiKind.SyncRqState => "ipi_sync_rq_state",
        _ => kind.ToString(),
    };

    private static string Ret(long ret) => ret < 0 ? $"-{Errno.Name((int)-ret)}" : ret.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static ulong Bit(int cpu) => cpu is >= 0 and < 64 ? 1UL << cpu : 0;
}
