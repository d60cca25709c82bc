using Twin.Kernel;
using Twin.Kernel.Tasks;

namespace Twin.Simulation.Shrink;

/// <summary>A step of a draft task; fork and use_mm point at draft tasks and processes by name.</summary>
public sealed record DraftStep(Step Step, string? ForkTask = null, string? Process = null);

/// <summary>A task of a draft scenario.</summary>
public sealed record DraftTask(string Name, string? Process, int Affinity, bool Forked, IReadOnlyList<DraftStep> Steps)
{
    public bool Kthread => Process is null;
}

/// <summary>
/// A scenario being shrunk: tasks by name, steps referring to tasks and processes by name, so
/// tasks and steps can be removed freely and ids are assigned only when it runs.
/// </summary>
public sealed record ScenarioDraft(int Cpus, IReadOnlyList<DraftTask> Tasks)
{
    public int StepCount => Tasks.Sum(t => t.Steps.Count);

    /// <summary>The draft as kernel task specs: ids by position, fork targets and use_mm tgids resolved, dangling steps dropped.</summary>
    public IReadOnlyList<TaskSpec> ToTaskSpecs()
    {
        ScenarioDraft normalized = Normalize();
        if (!ReferenceEquals(normalized, this)) return normalized.ToTaskSpecs();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var leaders = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Tasks.Count; i++)
        {
            ids[Tasks[i].Name] = i + 1;
            if (Tasks[i].Process is string p) leaders.TryAdd(p, i + 1);
        }
        var specs = new List<TaskSpec>();
        for (int i = 0; i < Tasks.Count; i++)
        {
            DraftTask t = Tasks[i];
            var steps = new List<Step>();
            foreach (DraftStep d in t.Steps)
            {
                Step s = d.Step with { Index = steps.Count };
                if (s.Kind == StepKind.Fork)
                {
                    if (d.ForkTask is null || !ids.TryGetValue(d.ForkTask, out int child)) continue;
                    s = s with { Target = child };
                }
                else if (s.Kind == StepKind.UseMm)
                {
                    if (d.Process is null || !leaders.TryGetValue(d.Process, out int tgid)) continue;
                    s = s with { Target = tgid };
                }
                steps.Add(s);
            }
            specs.Add(new TaskSpec(t.Name, t.Process, t.Affinity >= Cpus ? -1 : t.Affinity, steps, t.Forked));
        }
        return specs;
    }

    /// <summary>The draft with every task free to run on any CPU, as the random workload's tasks are.</summary>
    public ScenarioDraft Unpinned() => this with { Tasks = [.. Tasks.Select(t => t with { Affinity = -1 })] };

    /// <summary>The draft without steps that point at tasks or processes no longer in it.</summary>
    public ScenarioDraft Normalize()
    {
        var names = Tasks.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var processes = Tasks.Where(t => t.Process is not null).Select(t => t.Process!).ToHashSet(StringComparer.Ordinal);
        bool Dangling(DraftStep s) => s.Step.Kind switch
        {
            StepKind.Fork => s.ForkTask is null || !names.Contains(s.ForkTask),
            StepKind.UseMm => s.Process is null || !processes.Contains(s.Process),
            _ => false,
        };
        if (!Tasks.Any(t => t.Steps.Any(Dangling))) return this;
        return this with { Tasks = [.. Tasks.Select(t => t with { Steps = [.. t.Steps.Where(s => !Dangling(s))] })] };
    }

    /// <summary>Is this draft runnable: something boots, every forked task is forked by someone?</summary>
    public bool IsValid()
    {
        if (Tasks.Count == 0 || Tasks.All(t => t.Forked)) return false;
        var forkedBy = Tasks.SelectMany(t => t.Steps).Where(s => s.Step.Kind == StepKind.Fork && s.ForkTask is not null).Select(s => s.ForkTask!).ToList();
        if (forkedBy.Count != forkedBy.Distinct().Count()) return false;
        return Tasks.Where(t => t.Forked).All(t => forkedBy.Contains(t.Name));
    }

    /// <summary>Removes a task, with the fork steps that started it and, transitively, the tasks only it started.</summary>
    public ScenarioDraft WithoutTask(string name)
    {
        var removed = new HashSet<string>(StringComparer.Ordinal) { name };
        bool grew = true;
        while (grew)
        {
            grew = false;
            foreach (DraftTask t in Tasks.Where(t => removed.Contains(t.Name)))
            {
                foreach (DraftStep s in t.Steps)
                {
                    if (s.Step.Kind == StepKind.Fork && s.ForkTask is not null && removed.Add(s.ForkTask)) grew = true;
                }
            }
        }
        return (this with { Tasks = [.. Tasks.Where(t => !removed.Contains(t.Name))] }).Normalize();
    }

    /// <summary>Removes steps [from, from+count) of a task; a removed fork step drops the task it started.</summary>
    public ScenarioDraft WithoutSteps(string task, int from, int count)
    {
        DraftTask t = Tasks.First(x => x.Name == task);
        var orphans = t.Steps.Skip(from).Take(count).Where(s => s.Step.Kind == StepKind.Fork && s.ForkTask is not null).Select(s => s.ForkTask!).ToList();
        ScenarioDraft next = WithTask(t with { Steps = [.. t.Steps.Take(from), .. t.Steps.Skip(from + count)] });
        foreach (string o in orphans) next = next.WithoutTask(o);
        return next.Normalize();
    }

    public ScenarioDraft WithTask(DraftTask task) => this with { Tasks = [.. Tasks.Select(t => t.Name == task.Name ? task : t)] };
}
