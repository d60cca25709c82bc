using Twin.Actors;
using Twin.Kernel.Events;

namespace Twin.Kernel.Machine;

/// <summary>What the twin knows of a task: its process and address space.</summary>
public readonly record struct TaskInfo(int Task, int Tgid, int Mm, bool Kthread);

/// <summary>The machine's tasks, by id. Idle tasks are implicit kthreads.</summary>
public sealed class TaskTable
{
    private readonly List<TaskInfo> _tasks = [default];

    public int Count => _tasks.Count - 1;

    public TaskInfo Get(int task)
    {
        if (KernelIds.IsIdle(task)) return new TaskInfo(task, 0, KernelIds.None, Kthread: true);
        Invariant.Assert(task > 0 && task < _tasks.Count, "known task id");
        return _tasks[task];
    }

    public void Apply(TaskCreated e)
    {
        Invariant.Assert(e.Task == _tasks.Count, "task ids are dense");
        Invariant.Assert(e.Kthread == (e.Mm == KernelIds.None), "kernel threads, and only they, have no mm");
        _tasks.Add(new TaskInfo(e.Task, e.Tgid, e.Mm, e.Kthread));
    }

    public void Hash(ref StateHasher h)
    {
        h.Add(Count);
        for (int i = 1; i < _tasks.Count; i++)
        {
            TaskInfo t = _tasks[i];
            h.Add(t.Task);
            h.Add(t.Tgid);
            h.Add(t.Mm);
            h.Add(t.Kthread);
        }
    }
}
