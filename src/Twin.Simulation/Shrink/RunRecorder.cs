using Twin.Checking;
using Twin.Kernel;
using Twin.Kernel.Machine;
using Twin.Kernel.Tasks;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Shrink;

/// <summary>
/// Re-executes a run up to its first violation and writes down what every task did as a draft
/// scenario: processes by tgid ("p12"), kernel threads ("k7"), forked children as tasks started by
/// their parent's fork step, each task's steps in order, and the CPU each first ran on.
/// </summary>
public sealed class RunRecorder : IStepObserver
{
    private readonly Dictionary<int, (string Name, string? Process, int FirstCpu, List<DraftStep> Steps, bool Forked)> _tasks = [];
    private readonly Dictionary<int, int> _pendingFork = [];

    /// <param name="stopOn">The violation the run is recorded up to (default: the first of any property).</param>
    public static (ScenarioDraft Draft, SimulationResult Result) Record(TwinConfig config, Func<Violation, bool>? stopOn = null)
    {
        var recorder = new RunRecorder();
        (SimulationResult result, bool _) = SimulationRunner.Execute(config, "record", null, writer: null, stop: null, onProgress: null, CancellationToken.None,
            stopAtFirstViolation: true, observer: recorder, stopOn: stopOn);
        // By task id: the scenario then gives every task, process and mm the id it had in the run.
        var tasks = recorder._tasks.Keys.Order().Select(id => recorder._tasks[id])
            .Select(t => new DraftTask(t.Name, t.Process, t.FirstCpu, t.Forked, t.Steps)).ToList();
        return (new ScenarioDraft(config.Kernel.Cpus, tasks), result);
    }

    public void OnStep(KernelModel kernel, TaskRuntime task, int cpu, in Step step)
    {
        var t = Entry(kernel, task.Task, cpu);
        var s = step with { Index = -1 };
        switch (s.Kind)
        {
            case StepKind.Fork:
                _pendingFork[task.Task] = t.Steps.Count;
                t.Steps.Add(new DraftStep(s));
                break;
            case StepKind.UseMm:
                t.Steps.Add(new DraftStep(s, Process: $"p{s.Target}"));
                break;
            default:
                t.Steps.Add(new DraftStep(s));
                break;
        }
    }

    public void OnBoot(int task, int tgid, bool kthread) =>
        _tasks[task] = kthread ? ($"k{task}", null, -1, [], false) : ($"t{task}", $"p{tgid}", -1, [], false);

    public void OnFork(int parent, int child)
    {
        if (!_pendingFork.Remove(parent, out int index)) return;
        var p = _tasks[parent];
        p.Steps[index] = p.Steps[index] with { ForkTask = $"t{child}" };
        _tasks[child] = ($"t{child}", $"p{child}", -1, [], true);
    }

    private (string Name, string? Process, int FirstCpu, List<DraftStep> Steps, bool Forked) Entry(KernelModel kernel, int task, int cpu)
    {
        if (_tasks.TryGetValue(task, out var t))
        {
            if (t.FirstCpu < 0 && cpu >= 0) _tasks[task] = t = t with { FirstCpu = cpu };
            return t;
        }
        TaskInfo info = kernel.Tasks.Get(task);
        t = info.Kthread ? ($"k{task}", null, cpu, [], false) : ($"t{task}", $"p{info.Tgid}", cpu, [], false);
        _tasks[task] = t;
        return t;
    }
}
