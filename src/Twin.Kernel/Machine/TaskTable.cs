using Twin.Actors;
using Twin.Kernel.Events;

namespace Twin.Kernel.Machine;

/// <summary>What the twin knows of a task: its process, its current <c>mm</c>, whether it is a kernel thread.</summary>
public readonly record struct TaskInfo(int Task, int Tgid, int Mm, bool Kthread, bool Alive);

/// <summary>The machine's tasks, by id (ids are reserved up front for scenario tasks, so the table can have holes).</summary>
public sealed class TaskTable
{
    private readonly List<TaskInfo> _tasks = [default];

    /// <summary>Highest task id known.</summary>
    public int MaxId => _tasks.Count - 1;

    public int Live { get; private set; }

    public bool Exists(int task) => KernelIds.IsIdle(task) || (task > 0 && task < _tasks.Count && _tasks[task].Task == task);

    public TaskInfo Get(int task)
    {
        if (KernelIds.IsIdle(task)) return new TaskInfo(task, 0, KernelIds.None, Kthread: true, Alive: true);
        Invariant.Assert(Exists(task), "known task id");
        return _tasks[task];
    }

    public void Apply(TaskCreated e)
    {
        Invariant.Assert(e.Task > 0, "task ids are positive");
        Invariant.Assert(e.Task > MaxId || _tasks[e.Task].Task == 0, "a task is created once");
        Invariant.Assert(e.Kthread == (e.Mm == KernelIds.None), "kernel threads, and only they, start without an mm");
        while (_tasks.Count <= e.Task) _tasks.Add(default);
        _tasks[e.Task] = new TaskInfo(e.Task, e.Tgid, e.Mm, e.Kthread, Alive: true);
        Live++;
    }

    public void Apply(TaskMmChanged e)
    {
        TaskInfo t = Get(e.Task);
        Invariant.Assert(t.Alive, "a live task changes mm");
        switch (e.Reason)
        {
            case MmChangeReason.KthreadUseMm:
                Invariant.Assert(t.Kthread && t.Mm == KernelIds.None && e.Mm != KernelIds.None, "kthread_use_mm by a kthread without an mm");
                break;
            case MmChangeReason.KthreadUnuseMm:
                Invariant.Assert(t.Kthread && t.Mm != KernelIds.None && e.Mm == KernelIds.None, "kthread_unuse_mm of the used mm");
                break;
            case MmChangeReason.ExitMm:
                Invariant.Assert(!t.Kthread && e.Mm == KernelIds.None, "exit_mm clears a user task's mm");
                break;
            case MmChangeReason.Exec:
                Invariant.Assert(!t.Kthread && e.Mm != t.Mm && e.Mm != KernelIds.None, "exec installs a new mm");
                break;
        }
        _tasks[e.Task] = t with { Mm = e.Mm };
    }

    public void Apply(TaskExited e)
    {
        TaskInfo t = Get(e.Task);
        Invariant.Assert(t.Alive && t.Mm == KernelIds.None, "a task dies after exit_mm");
        _tasks[e.Task] = t with { Alive = false };
        Live--;
    }

    public void Hash(ref StateHasher h)
    {
        h.Add(MaxId);
        h.Add(Live);
        for (int i = 1; i < _tasks.Count; i++)
        {
            TaskInfo t = _tasks[i];
            h.Add(t.Task);
            h.Add(t.Tgid);
            h.Add(t.Mm);
            h.Add(t.Kthread);
            h.Add(t.Alive);
        }
    }
}
