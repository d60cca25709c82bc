using Twin.Actors;
using Twin.Kernel.Events;

namespace Twin.Kernel.Cpu;

/// <summary>
/// One CPU: its runqueue (<c>rq.curr</c> and the runnable tasks) and its x86
/// <c>cpu_tlbstate</c> (kernel-model §1.1). Changed only by Apply, the same code for a live run,
/// an actor recovery and a whole-run replay. Invariants are asserted where state changes.
/// </summary>
public sealed class CpuState
{
    public CpuState(int cpu)
    {
        Cpu = cpu;
        Curr = KernelIds.IdleTask(cpu);
    }

    public int Cpu { get; }

    public bool Booted { get; private set; }

    /// <summary><c>rq->curr</c>.</summary>
    public int Curr { get; private set; }

    /// <summary>Runnable tasks waiting for this CPU, FIFO; <see cref="Curr"/> is never in it.</summary>
    public List<int> Runqueue { get; } = [];

    /// <summary><c>cpu_tlbstate.loaded_mm</c>: the page tables in CR3.</summary>
    public int LoadedMm { get; private set; } = KernelIds.InitMm;

    /// <summary><c>cpu_tlbstate_shared.is_lazy</c>: a kthread runs on borrowed page tables.</summary>
    public bool IsLazy { get; private set; }

    /// <summary><c>curr->active_mm</c>: the mm the running task uses; for a kthread, the borrowed one.</summary>
    public int ActiveMm { get; private set; } = KernelIds.InitMm;

    /// <summary>The mm of the last user task this CPU switched to (twin-derived, for the lazy invariant).</summary>
    public int LastUserMm { get; private set; } = KernelIds.InitMm;

    public void Apply(CpuBooted e)
    {
        Invariant.Assert(e.Cpu == Cpu && !Booted, "a CPU boots once");
        Booted = true;
        Curr = KernelIds.IdleTask(Cpu);
        LoadedMm = KernelIds.InitMm;
        ActiveMm = KernelIds.InitMm;
    }

    public void Apply(TaskEnqueued e)
    {
        Invariant.Assert(Booted && e.Cpu == Cpu, "enqueue on a booted CPU");
        Invariant.Assert(!KernelIds.IsIdle(e.Task), "idle tasks are never enqueued");
        Invariant.Assert(e.Task != Curr, "a running task is not woken");
        Invariant.Assert(!Runqueue.Contains(e.Task), "a task is on a runqueue once");
        Runqueue.Add(e.Task);
    }

    public void Apply(SchedSwitched e)
    {
        Invariant.Assert(e.Cpu == Cpu, "switch on this CPU");
        Invariant.Assert(e.Prev == Curr, "sched_switch prev is rq->curr");
        Invariant.Assert(e.Next != e.Prev, "a switch changes the task");
        if (!KernelIds.IsIdle(e.Prev) && e.PrevState == PrevState.Runnable) Runqueue.Add(e.Prev);
        if (KernelIds.IsIdle(e.Next))
        {
            Invariant.Assert(e.Next == KernelIds.IdleTask(Cpu), "only this CPU's idle task runs here");
        }
        else
        {
            bool removed = Runqueue.Remove(e.Next);
            Invariant.Assert(removed, "next was runnable on this runqueue");
        }
        Curr = e.Next;
    }

    public void Apply(LazyTlbEntered e)
    {
        Invariant.Assert(e.Cpu == Cpu, "lazy on this CPU");
        Invariant.Assert(e.Mm == ActiveMm, "the kthread borrows the outgoing task's active_mm");
        Invariant.Assert(ActiveMm == LastUserMm, "a lazy CPU's active_mm is the mm its previous user task had");
        IsLazy = LoadedMm != KernelIds.InitMm;
    }

    public void Apply(MmSwitched e)
    {
        Invariant.Assert(e.Cpu == Cpu, "switch_mm on this CPU");
        Invariant.Assert(e.Prev == LoadedMm, "switch_mm starts from loaded_mm");
        Invariant.Assert(e.WasLazy == IsLazy, "was_lazy reflects is_lazy");
        Invariant.Assert(e.Cr3Written || (e.Prev == e.Next && e.WasLazy), "only the same-mm unlazy path skips the CR3 write");
        LoadedMm = e.Next;
        ActiveMm = e.Next;
        LastUserMm = e.Next;
        IsLazy = false;
    }

    public void Hash(ref StateHasher h)
    {
        h.Add(Cpu);
        h.Add(Booted);
        h.Add(Curr);
        h.Add(Runqueue.Count);
        foreach (int t in Runqueue) h.Add(t);
        h.Add(LoadedMm);
        h.Add(IsLazy);
        h.Add(ActiveMm);
        h.Add(LastUserMm);
    }
}
