using Twin.Kernel.Tasks;

namespace Twin.Simulation.Shrink;

/// <summary>
/// The racing-tasks pass: a rare race between a few tasks, in a run of hundreds, cut down to those
/// tasks at once (and looped, to give the race many tries) instead of by thousands of removals.
/// </summary>
public sealed partial class Shrinker
{
    /// <summary>Seeds a few-task cut is tried under: small drafts run in microseconds, and a rare race needs many draws.</summary>
    private static readonly ulong[] s_manySeeds = [.. Enumerable.Range(1, 64).Select(i => (ulong)i)];

    /// <summary>Steps a task gets in <see cref="Looped"/>.</summary>
    private const int LoopSteps = 100;

    /// <summary>
    /// Keeps only the few tasks last handed a step before the violation, all else dropped at once,
    /// under many seeds: a rare race between two tasks in a run of hundreds (B14's LAM enable
    /// against a switch_mm into the same mm, B17's handler against the next batch) is lost by
    /// nearly every single removal, since each shifts everyone's timing, but the racing tasks
    /// alone, given many tries at the race, show it again under some seed. For 2, 3, 4, 6 and 8
    /// tasks: each repeating the step it was in (<see cref="Looped"/>) and, unless
    /// <paramref name="loopsOnly"/>, the tasks as they were (with their forkers), unpinned and
    /// pinned; smallest first.
    /// </summary>
    /// <returns>Whether a cut was kept.</returns>
    private bool TryLastActive(ref ScenarioDraft draft, bool loopsOnly)
    {
        if (draft.Tasks.Count <= 2 || Runs >= _maxRuns || !Fails(draft, _seed)) return false;
        long[] last = _lastStepNs!;
        int[] executed = _executed!;
        ScenarioDraft whole = draft;
        long LastStart(int i) => i + 1 < last.Length ? last[i + 1] : -1;
        List<string> recent = [.. Enumerable.Range(0, whole.Tasks.Count).Where(i => LastStart(i) >= 0)
            .OrderByDescending(LastStart).ThenBy(i => i).Select(i => whole.Tasks[i].Name)];
        // The task on the CPU that saw the violation is one side of the race, however long ago it
        // was handed its step (B17's kprobe'd instruction, interrupted by the patcher's batches).
        int onCpu = _lastTaskOnViolatingCpu - 1;
        if (onCpu >= 0 && onCpu < whole.Tasks.Count && recent.Remove(whole.Tasks[onCpu].Name)) recent.Insert(0, whole.Tasks[onCpu].Name);
        _log?.Invoke($"  LastActive: last handed a step before the violation: {string.Join(", ", recent.Take(8).Select(n => $"{n} ({CurrentStep(whole, executed, n)?.Step.Kind.ToString() ?? "-"})"))}");
        // Smallest first: a loop of two tasks before the same two with all their history.
        foreach ((string how, ScenarioDraft candidate) in RacingCandidates(whole, recent, executed, loopsOnly).OrderBy(c => c.Draft.StepCount))
        {
            if (candidate.StepCount >= whole.StepCount && candidate.Tasks.Count >= whole.Tasks.Count) continue;
            foreach (ulong seed in s_manySeeds.Prepend(_seed).Distinct())
            {
                if (Runs >= _maxRuns) return false;
                if (!Fails(candidate, seed)) continue;
                _seed = seed;
                draft = TrimToExecuted(candidate, _executed!, slack: true);
                _log?.Invoke($"  LastActive: {draft.Tasks.Count} tasks, {draft.StepCount} steps: {how} (seed {seed})");
                return true;
            }
        }
        return false;
    }

    /// <summary>For 2, 3, 4, 6 and 8 of the tasks last active: those alone (with their forkers), pinned, and looped.</summary>
    private List<(string How, ScenarioDraft Draft)> RacingCandidates(ScenarioDraft whole, List<string> recent, int[] executed, bool loopsOnly)
    {
        Dictionary<string, string> forker = whole.Tasks.SelectMany(t => t.Steps.Where(s => s.Step.Kind == StepKind.Fork && s.ForkTask is not null)
            .Select(s => (Child: s.ForkTask!, Parent: t.Name))).ToDictionary(x => x.Child, x => x.Parent, StringComparer.Ordinal);
        var candidates = new List<(string, ScenarioDraft)>();
        foreach (int k in new[] { 2, 3, 4, 6, 8 })
        {
            if (k >= recent.Count) break;
            var keep = new HashSet<string>(StringComparer.Ordinal);
            foreach (string name in recent.Take(k))
            {
                for (string? n = name; n is not null && keep.Add(n); n = forker.GetValueOrDefault(n)) { }
            }
            ScenarioDraft few = whole;
            foreach (DraftTask t in whole.Tasks.Where(t => !keep.Contains(t.Name))) few = few.WithoutTask(t.Name);
            if (!loopsOnly && few.IsValid())
            {
                candidates.Add(($"the {k} last active before the violation", few));
                candidates.Add(($"the {k} last active before the violation, pinned", PinnedToFirstCpus(few)));
            }
            for (int m = 1; m <= 2; m++)
            {
                if (Looped(whole, recent.Take(k), executed, m) is ScenarioDraft looped)
                {
                    candidates.Add(($"the {k} last active before the violation, each repeating {(m == 1 ? "the step it was in" : "its last two steps")}", looped));
                }
            }
        }
        return candidates;
    }

    /// <summary>The step task <paramref name="name"/> was in when the run stopped, if it had been handed one.</summary>
    private static DraftStep? CurrentStep(ScenarioDraft whole, int[] executed, string name)
    {
        (DraftTask task, int handed) = Handed(whole, executed, name);
        return handed == 0 ? null : task.Steps[handed - 1];
    }

    /// <summary>Task <paramref name="name"/> and how many of its steps it had been handed (task ids are positions + 1).</summary>
    private static (DraftTask Task, int Handed) Handed(ScenarioDraft whole, int[] executed, string name)
    {
        int i = 0;
        while (whole.Tasks[i].Name != name) i++;
        DraftTask task = whole.Tasks[i];
        return (task, i + 1 < executed.Length ? Math.Min(executed[i + 1], task.Steps.Count) : 0);
    }

    /// <summary>
    /// Only the tasks <paramref name="names"/>, pinned, each doing the last <paramref name="m"/>
    /// steps it had been handed when the violation came, over and over (a hundred steps a task):
    /// a race that the run hit once, by luck of timing, gets a hundred tries (B17's handler
    /// against the next batch). Forked tasks start at boot instead (a loop cannot keep a fork);
    /// fork, clone, exec and exit steps are not repeated, and a task left with nothing to repeat is
    /// left out. Null when that leaves no runnable draft.
    /// </summary>
    private ScenarioDraft? Looped(ScenarioDraft whole, IEnumerable<string> names, int[] executed, int m)
    {
        var tasks = new List<DraftTask>();
        foreach (string name in names)
        {
            (DraftTask t, int handed) = Handed(whole, executed, name);
            List<DraftStep> tail = [.. t.Steps.Take(handed).Skip(Math.Max(0, handed - m))
                .Where(s => s.Step.Kind is not (StepKind.Fork or StepKind.Clone or StepKind.Exec or StepKind.Exit))];
            if (tail.Count == 0) continue;
            tasks.Add(t with { Forked = false, Steps = [.. Enumerable.Repeat(tail, Math.Max(1, LoopSteps / tail.Count)).SelectMany(x => x)] });
        }
        ScenarioDraft looped = PinnedToFirstCpus(whole with { Tasks = tasks }).Normalize();
        return looped.IsValid() ? looped : null;
    }
}
