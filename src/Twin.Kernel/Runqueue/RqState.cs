using Twin.Actors;
using Twin.Kernel.Events;

namespace Twin.Kernel.Runqueue;

/// <summary>
/// One CPU's runqueue (kernel-model §1.1): <c>rq->curr</c>, the runnable tasks waiting (FIFO;
/// curr is never among them), <c>rq->membarrier_state</c> and <c>rq->prev_mm</c>. Changed only
/// by Apply: the same code for a live run, a recovery and a whole-run replay.
/// </summary>
public sealed class RqState(int cpu)
{
    public int Cpu { get; } = cpu;

    /// <summary><c>rq->curr</c>.</summary>
    public int Curr { get; private set; } = KernelIds.IdleTask(cpu);

    public List<int> Queue { get; } = [];

    /// <summary><c>rq->membarrier_state</c>.</summary>
    public int MembarrierState { get; private set; }

    /// <summary><c>rq->prev_mm</c>: the mm a kthread borrowed, dropped in finish_task_switch (<see cref="KernelIds.NoPrevMm"/>: none).</summary>
    public int PrevMm { get; private set; } = KernelIds.NoPrevMm;

    public bool CurrIsIdle => KernelIds.IsIdle(Curr);

    public void Apply(TaskEnqueued e)
    {
        Invariant.Assert(e.Cpu == Cpu, "enqueue on this runqueue");
        Invariant.Assert(!KernelIds.IsIdle(e.Task), "idle tasks are never enqueued");
        Invariant.Assert(e.Task != Curr, "a running task is not woken");
        Invariant.Assert(!Queue.Contains(e.Task), "a task is on a runqueue once");
        Queue.Add(e.Task);
    }

    public void Apply(SchedSwitched e)
    {
        Invariant.Assert(e.Cpu == Cpu, "switch on this runqueue");
        Invariant.Assert(e.Prev == Curr, "sched_switch prev is rq->curr");
        Invariant.Assert(e.Next != e.Prev, "a switch changes the task");
        if (!KernelIds.IsIdle(e.Prev) && e.PrevState == PrevState.Runnable) Queue.Add(e.Prev);
        if (KernelIds.IsIdle(e.Next))
        {
            Invariant.Assert(e.Next == KernelIds.IdleTask(Cpu), "only this CPU's idle task runs here");
        }
        else
        {
            bool removed = Queue.Remove(e.Next);
            Invariant.Assert(removed, "next was runnable on this runqueue");
        }
        Curr = e.Next;
        PrevMm = e.PrevMm;
    }

    public void Apply(RqMembarrierStateSet e)
    {
        Invariant.Assert(e.Cpu == Cpu, "this CPU's runqueue");
        MembarrierState = e.State;
    }

    public void Apply(RqPrevMmCleared e)
    {
        Invariant.Assert(e.Cpu == Cpu && e.Mm == PrevMm && PrevMm != KernelIds.NoPrevMm, "finish_task_switch takes the prev_mm the switch left");
        PrevMm = KernelIds.NoPrevMm;
    }

    public void Apply(RqTasksMigrated e)
    {
        Invariant.Assert(e.Cpu == Cpu && e.Tasks == Queue.Count, "migrate_tasks() moves every queued task");
        Invariant.Assert(CurrIsIdle, "a CPU goes offline from its idle task");
        Queue.Clear();
    }

    public void Hash(ref StateHasher h)
    {
        h.Add(Cpu);
        h.Add(Curr);
        h.Add(Queue.Count);
        foreach (int t in Queue) h.Add(t);
        h.Add(MembarrierState);
        h.Add(PrevMm);
    }
}
