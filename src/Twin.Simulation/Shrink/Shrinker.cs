using Twin.Checking;
using Twin.Kernel;
using Twin.Kernel.Tasks;
using Twin.Persistence;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Shrink;

/// <summary>What <see cref="Shrinker"/> found: the smallest failing scenario, and how it got there.</summary>
public sealed record ShrinkResult(ScenarioDraft Draft, TwinConfig Config, Violation Violation, int OriginalTasks, int OriginalSteps, int Runs);

/// <summary>
/// Turns a failing run into a minimal scenario that still violates the same property. The run is
/// re-executed once with a recorder, which writes down each task's steps up to the first
/// violation; that draft is re-run as a scripted scenario (trying a few seeds, since scripted
/// tasks draw less randomness than the random workload) and then shrunk greedily, in the manner
/// of delta debugging: drop whole tasks, drop chunks of steps (halving the chunk size), shorten
/// spins and sleeps, take away CPUs. A change is kept only if the scenario still fails the same way.
/// </summary>
public sealed partial class Shrinker
{
    private static readonly ulong[] s_extraSeeds = [.. Enumerable.Range(1, 24).Select(i => (ulong)i)];

    private const long MinNs = 1_000;

    /// <summary>
    /// Simulations a shrink may take. Candidates are short (they stop at the first violation or at
    /// twice the recorded one), so this is seconds to a minute; the wide-seed rounds need it.
    /// </summary>
    public const int DefaultMaxRuns = 10_000;

    /// <summary>A first result over this many steps gets a second start (<see cref="MinimizeTwice"/>).</summary>
    private const int SecondStartAbove = 20;

    /// <summary>Seeds a candidate may fail under once greedy shrinking is stuck.</summary>
    private const int WideSeeds = 6;

    private readonly TwinConfig _original;
    private readonly string _property;
    private readonly int _maxRuns;
    private readonly Action<string>? _log;
    private long _eventCap;
    private ulong _seed;
    private Violation? _last;
    private int[]? _executed;
    private long[]? _lastStepNs;

    /// <summary>The task (id) last handed a step on the CPU the last failure was seen on: one side of the race.</summary>
    private int _lastTaskOnViolatingCpu;
    private int _wide = 1;
    private TimingConfig _timing;
    private Dictionary<string, int> _firstCpu = [];

    public int Runs { get; private set; }

    private Shrinker(TwinConfig original, string property, int maxRuns, long eventCap, Action<string>? log)
    {
        _original = original;
        _property = property;
        _maxRuns = maxRuns;
        _eventCap = eventCap;
        _log = log;
        _seed = original.Seed;
        _timing = original.Kernel.Timing;
    }

    /// <summary>
    /// Shrinks the failure of <paramref name="config"/>. <paramref name="property"/> picks which
    /// violation to keep (default: the run's first). Returns null, with the reason, when the run
    /// does not fail or its failure cannot be reproduced as a scenario.
    /// </summary>
    public static (ShrinkResult? Result, string? Reason) Shrink(TwinConfig config, string? property = null, int maxRuns = DefaultMaxRuns, Action<string>? log = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRuns, 1);
        if (config.Kernel.Tasks?.Any(t => t.Steps.Any(s => s.Kind == StepKind.Clone)) == true)
        {
            return (null, "the run's scenario starts threads with clone steps, which the shrinker cannot rewrite yet");
        }
        if (config.Litmus is not null)
        {
            // Its FORBID names the scenario's registers; a litmus test is already a handful of steps.
            return (null, $"the run is the litmus scenario '{config.Litmus.Name}', already minimal; shrink reduces random workloads");
        }
        (ScenarioDraft recorded, SimulationResult first) = RunRecorder.Record(config, property is null ? null : v => Same(v.Property, property));
        Violation? target = property is null ? first.Violations.FirstOrDefault() : first.Violations.FirstOrDefault(v => Same(v.Property, property));
        if (target is null)
        {
            return (null, property is null ? "the run violates nothing" : $"the run does not violate {property}");
        }
        log?.Invoke($"recorded {recorded.Tasks.Count} tasks, {recorded.StepCount} steps up to the first {target.Property} at event {target.EventIndex}");
        long cap = CapFor(config, target.EventIndex);
        var shrinker = new Shrinker(config, target.Property, maxRuns, cap, log);
        shrinker._firstCpu = recorded.Tasks.ToDictionary(t => t.Name, t => t.Affinity, StringComparer.Ordinal);
        ScenarioDraft? draft = shrinker.Reproduce(recorded.Normalize());
        if (draft is null)
        {
            return (null, $"the recorded steps do not reproduce {target.Property} as a scenario within {shrinker.Runs} runs");
        }
        draft = shrinker.MinimizeTwice(draft);
        if (!shrinker.Fails(draft, shrinker._seed)) throw new InvalidOperationException("the shrunk scenario no longer fails");
        draft = shrinker.TrimToExecuted(draft, shrinker._executed!);
        if (!shrinker.Fails(draft, shrinker._seed)) throw new InvalidOperationException("the trimmed scenario no longer fails");
        return (new ShrinkResult(draft, shrinker.ConfigFor(draft, shrinker._seed), shrinker._last!, recorded.Tasks.Count, recorded.StepCount, shrinker.Runs), null);
    }

    /// <summary>
    /// How long a candidate may run: one still quiet at twice the recorded failure's event (plus
    /// slack) is taken as not failing, which keeps the many failed attempts on big drafts cheap.
    /// Small drafts go quiet by themselves once their tasks are out of steps.
    /// </summary>
    private static long CapFor(TwinConfig config, long violationEvent) => Math.Min(config.Events, violationEvent * 2 + 50_000);

    /// <summary>Does property <paramref name="found"/> count as <paramref name="wanted"/>? The E-* checks of one guarantee are one family.</summary>
    private static bool Same(string found, string wanted) =>
        string.Equals(found, wanted, StringComparison.OrdinalIgnoreCase)
        || (found.StartsWith("E-", StringComparison.Ordinal) && wanted.StartsWith("E-", StringComparison.OrdinalIgnoreCase));

    private ScenarioDraft? Reproduce(ScenarioDraft recorded)
    {
        ScenarioDraft pinned = recorded;
        ScenarioDraft unpinned = recorded.Unpinned();
        // Unpinned with the run's seed first: that is the run itself, event for event.
        foreach (ScenarioDraft d in new[] { unpinned, pinned })
        {
            foreach (ulong seed in s_extraSeeds.Prepend(_original.Seed).Distinct())
            {
                if (Runs >= _maxRuns) return null;
                if (Fails(d, seed))
                {
                    _seed = seed;
                    _log?.Invoke($"reproduced with seed {seed} ({(ReferenceEquals(d, pinned) ? "tasks pinned to their first CPU" : "tasks unpinned")}): {_last!.Property} at event {_last.EventIndex}");
                    return d;
                }
            }
        }
        return null;
    }

    /// <summary>
    /// Greedy shrinking ends in a local minimum, and where depends on the first jump. It starts
    /// with the racing-task loops only; a result still over <see cref="SecondStartAbove"/> steps
    /// gets a second start, from the same draft with the rest of the budget, that also takes the
    /// plain racing-task cuts at once (B4's run of seed 120: 111 steps from the first start, 15
    /// from the second), and the smaller result is kept.
    /// </summary>
    private ScenarioDraft MinimizeTwice(ScenarioDraft reproduced)
    {
        (ulong Seed, TimingConfig Timing, int Wide) start = (_seed, _timing, _wide);
        ScenarioDraft first = Minimize(reproduced, loopsOnlyAtStart: true);
        if (first.StepCount <= SecondStartAbove || Runs >= _maxRuns) return first;
        (ulong Seed, TimingConfig Timing, int Wide) afterFirst = (_seed, _timing, _wide);
        (_seed, _timing, _wide) = start;
        ScenarioDraft second = Minimize(reproduced, loopsOnlyAtStart: false);
        _log?.Invoke($"second start: {second.Tasks.Count} tasks, {second.StepCount} steps (first: {first.Tasks.Count}, {first.StepCount})");
        if (second.StepCount < first.StepCount) return second;
        (_seed, _timing, _wide) = afterFirst;
        return first;
    }

    private ScenarioDraft Minimize(ScenarioDraft draft, bool loopsOnlyAtStart)
    {
        SimplifyTiming(draft);
        // First start: only the loops, which are cheap; a jump to a plain cut of a big run's tasks
        // can land where greedy shrinking does worse than from the whole run (B12, B8b).
        TryLastActive(ref draft, loopsOnly: loopsOnlyAtStart);
        int restarts = 0;
        while (Runs < _maxRuns)
        {
            (int, int, int) size = (draft.Tasks.Count, draft.StepCount, draft.Cpus);
            Try(ref draft, DropTasks);
            Try(ref draft, DropSteps);
            Try(ref draft, NeutralizeSteps);
            Try(ref draft, MergeSteps);
            Try(ref draft, ShortenSteps);
            Try(ref draft, FewerCpus);
            _log?.Invoke($"{draft.Tasks.Count} tasks, {draft.StepCount} steps, {draft.Cpus} CPUs after {Runs} runs");
            if ((draft.Tasks.Count, draft.StepCount, draft.Cpus) != size) continue;
            // Stuck: each removal changes the interleaving enough to lose the failure (one seeded
            // stream drives every CPU, so a step less shifts everyone's timing). From here on a
            // candidate also counts as failing if a few other seeds make it fail.
            // A smaller scenario may now bear what the full one did not (a certain reschedule).
            if (SimplifyTiming(draft)) continue;
            if (TryLastActive(ref draft, loopsOnly: false)) continue;
            if (TryPinning(ref draft)) continue;
            if (_wide < WideSeeds)
            {
                _wide = WideSeeds;
                _log?.Invoke($"stuck; from now on a candidate may fail under any of {WideSeeds} seeds");
                continue;
            }
            // Another seed gives the same steps another interleaving, and often new removals.
            if (++restarts > 3 || !TryAnotherSeed(draft)) break;
        }
        return draft;
    }

    /// <summary>
    /// Takes randomness out of the machine before taking steps out: no stalls, fixed step and IPI
    /// latencies, IRQ-exit reschedules and IRET returns always or never. Each is kept only if the
    /// scenario still fails; a failure that no longer hangs on a coin flip survives the removals
    /// that follow far more often. The written scenario sets what was kept.
    /// </summary>
    /// <returns>Whether any knob was turned.</returns>
    private bool SimplifyTiming(ScenarioDraft draft)
    {
        // Each turns one knob of the timing kept so far; a range stays a range (min <= max).
        Func<TimingConfig, TimingConfig>[] candidates =
        [
            t => t with { StallProbability = 0 },
            t => t with { WindowStallProbability = 0 },
            t => t with { StepNsMin = t.StepNsMax },
            t => t with { StepNsMax = t.StepNsMin },
            t => t with { IpiNsMin = t.IpiNsMax },
            t => t with { IpiNsMax = t.IpiNsMin },
            t => t with { ReschedOnIrqExit = 0 },
            t => t with { ReschedOnIrqExit = 1 },
            t => t with { IretOnSyscallReturn = 0 },
            t => t with { IretOnSyscallReturn = 1 },
        ];
        int before = Runs;
        TimingConfig start = _timing;
        foreach (Func<TimingConfig, TimingConfig> turn in candidates)
        {
            if (Runs >= _maxRuns) break;
            TimingConfig kept = _timing;
            _timing = turn(kept);
            if (_timing == kept) continue;
            if (!Fails(draft, _seed)) _timing = kept;
        }
        _log?.Invoke($"  SimplifyTiming: stall p {_timing.StallProbability}, step {_timing.StepNsMin}..{_timing.StepNsMax} ns, IPI {_timing.IpiNsMin}..{_timing.IpiNsMax} ns, resched on IRQ exit {_timing.ReschedOnIrqExit}, IRET on syscall return {_timing.IretOnSyscallReturn} ({Runs - before} runs)");
        return _timing != start;
    }

    /// <summary>
    /// Pins every unpinned task to the CPU it first ran on in the recorded run. Where a task wakes
    /// is drawn at random, so while tasks are unpinned every removal also moves the others to new
    /// CPUs; pinned, a removal changes timing only.
    /// </summary>
    private bool TryPinning(ref ScenarioDraft draft)
    {
        // Tasks that never ran in the recorded run have no first CPU and stay free.
        if (!draft.Tasks.Any(t => t.Affinity < 0 && _firstCpu.GetValueOrDefault(t.Name, -1) >= 0) || Runs >= _maxRuns) return false;
        if (!Accept(PinnedToFirstCpus(draft), out ScenarioDraft kept)) return false;
        draft = kept;
        _log?.Invoke("stuck; fails with every task pinned to its first CPU too, shrinking on from there");
        return true;
    }

    /// <summary>Every unpinned task that ran in the recorded run pinned to the CPU it first ran on.</summary>
    private ScenarioDraft PinnedToFirstCpus(ScenarioDraft draft)
    {
        int FirstCpu(DraftTask t) => _firstCpu.GetValueOrDefault(t.Name, -1);
        return draft with
        {
            Tasks = [.. draft.Tasks.Select(t => t.Affinity >= 0 || FirstCpu(t) < 0 ? t : t with { Affinity = Math.Min(FirstCpu(t), draft.Cpus - 1) })],
        };
    }

    private bool TryAnotherSeed(ScenarioDraft draft)
    {
        ulong current = _seed;
        foreach (ulong seed in s_extraSeeds.Where(x => x != current).Take(12))
        {
            if (Runs >= _maxRuns) return false;
            if (Fails(draft, seed))
            {
                _seed = seed;
                _log?.Invoke($"fails with seed {seed} too; shrinking on from there");
                return true;
            }
        }
        return false;
    }

    private void Try(ref ScenarioDraft draft, Func<ScenarioDraft, ScenarioDraft> pass)
    {
        int before = Runs;
        draft = pass(draft).Normalize();
        _log?.Invoke($"  {pass.Method.Name}: {draft.Tasks.Count} tasks, {draft.StepCount} steps, {draft.Cpus} CPUs ({Runs - before} runs)");
    }

    /// <summary>Drops chunks of tasks, halving the chunk size down to single tasks (ddmin over the task list).</summary>
    private ScenarioDraft DropTasks(ScenarioDraft draft)
    {
        for (int chunk = Math.Max(1, draft.Tasks.Count / 2); Runs < _maxRuns; chunk = Math.Max(1, chunk / 2))
        {
            for (int from = draft.Tasks.Count - chunk; from >= 0 && Runs < _maxRuns; from -= chunk)
            {
                ScenarioDraft candidate = draft;
                foreach (DraftTask t in draft.Tasks.Skip(from).Take(chunk)) candidate = candidate.WithoutTask(t.Name);
                if (Accept(candidate, out ScenarioDraft kept)) draft = kept;
            }
            if (chunk == 1) break;
        }
        return draft;
    }

    private ScenarioDraft DropSteps(ScenarioDraft draft)
    {
        foreach (string name in draft.Tasks.Select(t => t.Name).ToList())
        {
            DraftTask? task = draft.Tasks.FirstOrDefault(t => t.Name == name);
            if (task is null) continue;
            draft = DropPrefixes(draft, name);
            for (int chunk = Math.Max(1, task.Steps.Count / 2); chunk >= 1 && Runs < _maxRuns; chunk /= 2)
            {
                for (int from = ((draft.Tasks.FirstOrDefault(t => t.Name == name)?.Steps.Count ?? 0) - chunk); from >= 0 && Runs < _maxRuns; from -= chunk)
                {
                    ScenarioDraft candidate = draft.WithoutSteps(name, from, chunk);
                    if (Accept(candidate, out ScenarioDraft kept)) draft = kept;
                }
                if (chunk == 1) break;
            }
        }
        return draft;
    }

    /// <summary>Merges neighbouring spins (or sleeps) of a task into one: fewer steps, about the same timing.</summary>
    /// <summary>
    /// Cuts the longest leading run of a task's steps it can, by halving: what a task did long
    /// before the failure rarely matters, and this costs log(n) runs where ddmin costs n.
    /// </summary>
    private ScenarioDraft DropPrefixes(ScenarioDraft draft, string name)
    {
        int Count(ScenarioDraft d) => d.Tasks.FirstOrDefault(t => t.Name == name)?.Steps.Count ?? 0;
        for (int k = Count(draft) / 2; k >= 1 && Runs < _maxRuns; k = Math.Min(k, Count(draft)) / 2)
        {
            ScenarioDraft candidate = draft.WithoutSteps(name, 0, k);
            if (Accept(candidate, out ScenarioDraft kept)) draft = kept;
        }
        return draft;
    }

    /// <summary>
    /// Turns a step that removal could not take out into a short spin: the task stays busy in user
    /// mode about as long, so the others keep their interleaving, while the syscall goes; the
    /// spins then merge with their neighbours.
    /// </summary>
    private ScenarioDraft NeutralizeSteps(ScenarioDraft draft)
    {
        foreach (string name in draft.Tasks.Select(t => t.Name).ToList())
        {
            for (int i = 0; Runs < _maxRuns; i++)
            {
                DraftTask? task = draft.Tasks.FirstOrDefault(t => t.Name == name);
                if (task is null || i >= task.Steps.Count) break;
                Step s = task.Steps[i].Step;
                if (s.Kind is not (StepKind.Yield or StepKind.Membarrier or StepKind.WriteCode or StepKind.Mprotect or StepKind.Munmap)) continue;
                var steps = task.Steps.ToList();
                steps[i] = steps[i] with { Step = new Step(StepKind.Spin, Ns: MinNs) };
                if (Accept(draft.WithTask(task with { Steps = steps }), out ScenarioDraft kept)) draft = kept;
            }
        }
        return draft;
    }

    private ScenarioDraft MergeSteps(ScenarioDraft draft)
    {
        foreach (string name in draft.Tasks.Select(t => t.Name).ToList())
        {
            for (int i = 0; Runs < _maxRuns; i++)
            {
                DraftTask task = draft.Tasks.First(t => t.Name == name);
                if (i + 1 >= task.Steps.Count) break;
                Step a = task.Steps[i].Step, b = task.Steps[i + 1].Step;
                if (a.Kind != b.Kind || a.Kind is not (StepKind.Spin or StepKind.Sleep or StepKind.Rseq)) continue;
                var steps = task.Steps.ToList();
                steps[i] = steps[i] with { Step = a with { Ns = a.Ns + b.Ns } };
                steps.RemoveAt(i + 1);
                ScenarioDraft candidate = draft.WithTask(task with { Steps = steps });
                if (Accept(candidate, out ScenarioDraft kept))
                {
                    draft = kept;
                    i--;
                }
            }
        }
        return draft;
    }

    private ScenarioDraft ShortenSteps(ScenarioDraft draft)
    {
        foreach (string name in draft.Tasks.Select(t => t.Name).ToList())
        {
            for (int i = 0; Runs < _maxRuns; i++)
            {
                DraftTask task = draft.Tasks.First(t => t.Name == name);
                if (i >= task.Steps.Count) break;
                Step s = task.Steps[i].Step;
                if (s.Kind is not (StepKind.Spin or StepKind.Sleep or StepKind.Rseq) || s.Ns / 2 < MinNs) continue;
                var steps = task.Steps.ToList();
                steps[i] = steps[i] with { Step = s with { Ns = Round(s.Ns / 2) } };
                ScenarioDraft candidate = draft.WithTask(task with { Steps = steps });
                if (Accept(candidate, out ScenarioDraft kept)) draft = kept;
            }
        }
        return draft;
    }

    private ScenarioDraft FewerCpus(ScenarioDraft draft)
    {
        while (draft.Cpus > Limits.MinCpus && Runs < _maxRuns)
        {
            int cpus = draft.Cpus - 1;
            ScenarioDraft candidate = draft with
            {
                Cpus = cpus,
                Tasks = [.. draft.Tasks.Select(t => t.Affinity >= cpus ? t with { Affinity = cpus - 1 } : t)],
            };
            if (!Accept(candidate, out ScenarioDraft kept)) break;
            draft = kept;
        }
        return draft;
    }

    /// <summary>Durations read better round: 12345 becomes 12000.</summary>
    private static long Round(long ns)
    {
        long unit = 1;
        while (unit * 100 <= ns) unit *= 10;
        return Math.Max(MinNs, ns / unit * unit);
    }

    /// <summary>
    /// Does <paramref name="candidate"/> still fail? If so, <paramref name="kept"/> is it with the
    /// tail the failing run never reached cut down to a slack as long again: a later removal may
    /// make the failure come later and need a few of those steps, but rarely thousands.
    /// </summary>
    private bool Accept(ScenarioDraft candidate, out ScenarioDraft kept)
    {
        kept = candidate = candidate.Normalize();
        if (!candidate.IsValid() || !FailsUnderSomeSeed(candidate)) return false;
        kept = TrimToExecuted(candidate, _executed!, slack: true);
        return true;
    }

    /// <summary>The current seed, then (once shrinking is stuck) a few others; a seed that makes it fail becomes the current one.</summary>
    private bool FailsUnderSomeSeed(ScenarioDraft candidate)
    {
        if (Fails(candidate, _seed)) return true;
        ulong current = _seed;
        foreach (ulong seed in s_extraSeeds.Where(x => x != current).Take(_wide - 1))
        {
            if (Runs >= _maxRuns) return false;
            if (Fails(candidate, seed))
            {
                _seed = seed;
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Cuts the steps no task reached before the run stopped, once shrinking is over. That is
    /// free: a step never handed out changed nothing up to the failure. Forked tasks whose fork is cut go too, which
    /// renumbers tasks, so that case is checked with a run.
    /// </summary>
    private ScenarioDraft TrimToExecuted(ScenarioDraft draft, int[] executed, bool slack = false)
    {
        int Keep(int i)
        {
            int n = i + 1 < executed.Length ? executed[i + 1] : 0;
            return slack ? (n * 2) + 4 : n;
        }
        var tasks = draft.Tasks.Select((t, i) => t with { Steps = [.. t.Steps.Take(Keep(i))] }).ToList();
        if (tasks.Zip(draft.Tasks).All(p => p.First.Steps.Count == p.Second.Steps.Count)) return draft;
        var trimmed = draft with { Tasks = tasks };
        var forked = tasks.SelectMany(t => t.Steps).Where(s => s.Step.Kind == StepKind.Fork).Select(s => s.ForkTask).ToHashSet();
        List<DraftTask> orphans = [.. tasks.Where(t => t.Forked && !forked.Contains(t.Name))];
        if (orphans.Count == 0) return trimmed;
        if (slack) return draft;
        foreach (DraftTask o in orphans) trimmed = trimmed.WithoutTask(o.Name);
        int[] before = executed;
        if (Runs < _maxRuns && trimmed.IsValid() && Fails(trimmed, _seed)) return trimmed;
        _executed = before;
        return draft;
    }

    private bool Fails(ScenarioDraft draft, ulong seed)
    {
        Runs++;
        TwinConfig config = ConfigFor(draft, seed);
        var counter = new StepCounter(draft.Tasks.Count, draft.Cpus);
        (SimulationResult result, bool _) = SimulationRunner.Execute(config, $"shrink-{Runs}", null, writer: null, stop: null, onProgress: null, CancellationToken.None,
            stopAtFirstViolation: true, observer: counter, stopOn: v => Same(v.Property, _property));
        Violation? v = result.Violations.FirstOrDefault(x => Same(x.Property, _property));
        if (v is null) return false;
        _last = v;
        _executed = counter.Steps;
        _lastStepNs = counter.LastStepNs;
        _lastTaskOnViolatingCpu = v.Cpu >= 0 && v.Cpu < counter.LastTaskOnCpu.Length ? counter.LastTaskOnCpu[v.Cpu] : 0;
        return true;
    }

    private TwinConfig ConfigFor(ScenarioDraft draft, ulong seed) => _original with
    {
        Seed = seed,
        Events = _eventCap,
        ScenarioJson = null,
        Expectations = [],
        Kernel = _original.Kernel with { Cpus = draft.Cpus, Tasks = draft.ToTaskSpecs(), Timing = _timing },
    };
}

/// <summary>How many steps each scenario task (by id) was handed before the run stopped, and when the last one was.</summary>
internal sealed class StepCounter : IStepObserver
{
    public StepCounter(int tasks, int cpus)
    {
        Steps = new int[tasks + 1];
        LastStepNs = new long[tasks + 1];
        Array.Fill(LastStepNs, -1);
        LastTaskOnCpu = new int[cpus];
    }

    public int[] Steps { get; }

    /// <summary>Per task id, the virtual time its last step was handed out; -1 if none was.</summary>
    public long[] LastStepNs { get; }

    /// <summary>Per CPU, the id of the task last handed a step there (0: none).</summary>
    public int[] LastTaskOnCpu { get; }

    public void OnStep(KernelModel kernel, TaskRuntime task, int cpu, in Step step)
    {
        if (task.Task >= Steps.Length) return;
        Steps[task.Task]++;
        LastStepNs[task.Task] = kernel.NowNs;
        if ((uint)cpu < (uint)LastTaskOnCpu.Length) LastTaskOnCpu[cpu] = task.Task;
    }

    public void OnFork(int parent, int child)
    {
    }
}
