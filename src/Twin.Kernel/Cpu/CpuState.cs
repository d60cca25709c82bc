using Twin.Actors;
using Twin.Kernel.Events;

namespace Twin.Kernel.Cpu;

/// <summary>What the CPU is executing.</summary>
public enum CpuMode : byte
{
    Idle,
    Kernel,
    User,
}

/// <summary>
/// One CPU: its runqueue (<c>rq->curr</c>, runnable tasks, <c>rq->membarrier_state</c>,
/// <c>rq->prev_mm</c>), its x86 <c>cpu_tlbstate</c> and its mode (kernel-model §1.1). Changed only
/// by Apply: the same code for a live run, an actor recovery and a whole-run replay. Invariants
/// are asserted where state changes.
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

    public CpuMode Mode { get; private set; } = CpuMode.Idle;

    /// <summary><c>cpu_tlbstate.loaded_mm</c>: the page tables in CR3 (meaningless while <see cref="Switching"/>).</summary>
    public int LoadedMm { get; private set; } = KernelIds.InitMm;

    /// <summary><c>loaded_mm == LOADED_MM_SWITCHING</c>: inside switch_mm_irqs_off, between cpumask set and CR3 load.</summary>
    public bool Switching { get; private set; }

    /// <summary>The mm a switch in progress goes to.</summary>
    public int SwitchingTo { get; private set; }

    /// <summary><c>cpu_tlbstate_shared.is_lazy</c>.</summary>
    public bool IsLazy { get; private set; }

    /// <summary><c>curr->active_mm</c>: the mm the running task uses; for a lazy kthread, the borrowed one.</summary>
    public int ActiveMm { get; private set; } = KernelIds.InitMm;

    /// <summary><c>ctxs[asid].tlb_gen</c> of the loaded mm: the generation this CPU's TLB has caught up to.</summary>
    public long LocalTlbGen { get; private set; }

    /// <summary><c>rq->membarrier_state</c>.</summary>
    public int RqMembarrierState { get; private set; }

    /// <summary><c>rq->prev_mm</c>: the mm a kthread borrowed, dropped in finish_task_switch (<see cref="KernelIds.NoPrevMm"/>: none).</summary>
    public int PrevMm { get; private set; } = KernelIds.NoPrevMm;

    public void Apply(CpuBooted e)
    {
        Invariant.Assert(e.Cpu == Cpu && !Booted, "a CPU boots once");
        Booted = true;
        Curr = KernelIds.IdleTask(Cpu);
        Mode = CpuMode.Idle;
    }

    /// <summary>In cpu_online_mask. An offline CPU runs its idle task and takes no work.</summary>
    public bool Online { get; private set; } = true;

    public void Apply(CpuHotplugged e)
    {
        Invariant.Assert(e.Cpu == Cpu && e.Online != Online, "a CPU goes offline only when online, and back");
        Invariant.Assert(e.Online || KernelIds.IsIdle(Curr), "a CPU goes offline from its idle task");
        Online = e.Online;
        if (!e.Online) Runqueue.Clear(); // migrate_tasks(): the queued tasks go to online CPUs
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
        Invariant.Assert(Mode != CpuMode.User, "__schedule runs in the kernel");
        Invariant.Assert(!Switching, "no switch_mm in progress at __schedule");
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
        PrevMm = e.PrevMm;
        Mode = KernelIds.IsIdle(e.Next) ? CpuMode.Idle : CpuMode.Kernel;
    }

    public void Apply(LazyTlbEntered e)
    {
        Invariant.Assert(e.Cpu == Cpu, "lazy on this CPU");
        Invariant.Assert(e.Mm == ActiveMm, "the kthread borrows the outgoing task's active_mm");
        Invariant.Assert(!Switching, "enter_lazy_tlb outside switch_mm");
        IsLazy = LoadedMm != KernelIds.InitMm;
    }

    public void Apply(MmSwitchBegan e)
    {
        Invariant.Assert(e.Cpu == Cpu && !Switching, "one switch_mm at a time");
        Invariant.Assert(e.Next != LoadedMm, "the switching path is for another mm");
        Switching = true;
        SwitchingTo = e.Next;
        IsLazy = false;
    }

    public void Apply(MmSwitched e)
    {
        Invariant.Assert(e.Cpu == Cpu, "switch_mm on this CPU");
        Invariant.Assert(e.Prev == LoadedMm, "switch_mm starts from loaded_mm");
        if (e.Prev == e.Next)
        {
            Invariant.Assert(!Switching && e.WasLazy && IsLazy, "the same-mm path only unlazies");
            Invariant.Assert(e.TlbGen >= LocalTlbGen, "a flush never loses generations");
            Invariant.Assert(e.Cr3Written || e.TlbGen == LocalTlbGen, "no CR3 write only when tlb_gen is current");
        }
        else
        {
            Invariant.Assert(Switching && SwitchingTo == e.Next, "the CR3 load follows the switching step");
            Invariant.Assert(e.Cr3Written, "another mm needs a CR3 write");
        }
        LoadedMm = e.Next;
        Switching = false;
        IsLazy = false;
        LocalTlbGen = e.TlbGen;
        if (e.Next != KernelIds.InitMm) ActiveMm = e.Next; // leave_mm keeps current->active_mm
    }

    public void Apply(TlbFlushed e)
    {
        Invariant.Assert(e.Mm == LoadedMm && !Switching && !IsLazy, "flush_tlb_func flushes the loaded, non-lazy mm");
        Invariant.Assert(e.TlbGen > LocalTlbGen, "local_tlb_gen only advances");
        LocalTlbGen = e.TlbGen;
    }

    public void Apply(KernelEntered e)
    {
        Invariant.Assert(Mode == CpuMode.User && e.Task == Curr, "kernel entry from the running task's user mode");
        Mode = CpuMode.Kernel;
    }

    public void Apply(ReturnedToUser e)
    {
        Invariant.Assert(Mode == CpuMode.Kernel && e.Task == Curr, "return to user of the running task");
        Invariant.Assert(!Switching && !IsLazy, "user mode runs on loaded, non-lazy page tables");
        Mode = CpuMode.User;
    }

    public void Apply(RqMembarrierStateSet e)
    {
        Invariant.Assert(e.Cpu == Cpu, "this CPU's runqueue");
        RqMembarrierState = e.State;
    }

    /// <summary>x86 LAM bits in CR3 (0 or 6).</summary>
    public int Cr3LamBits { get; private set; }

    /// <summary><c>cpu_tlbstate.lam</c> and the per-CPU untag mask, as LAM bits (0 or 6): what <c>untagged_addr()</c> uses.</summary>
    public int UntagLamBits { get; private set; }

    public void Apply(CpuLamLoaded e)
    {
        Invariant.Assert(e.Cpu == Cpu, "LAM bits of this CPU");
        Invariant.Assert(e.Cr3Bits is 0 or 6 && e.UntagBits is 0 or 6, "LAM_U57 is the only mode: 0 or 6 tag bits");
        Cr3LamBits = e.Cr3Bits;
        UntagLamBits = e.UntagBits;
    }

    /// <summary>Task isolation: this CPU's context-tracking CT_WORK_SYNC bit is set (a deferred sync_core() waits for its next kernel entry).</summary>
    public bool CtWorkPending { get; private set; }

    public void Apply(CtWork e)
    {
        Invariant.Assert(e.Cpu == Cpu, "this CPU's context-tracking work");
        if (e.Step == CtWorkStep.Set) CtWorkPending = true;
        else if (e.Step == CtWorkStep.Flushed)
        {
            Invariant.Assert(CtWorkPending, "only a pending bit is flushed");
            CtWorkPending = false;
        }
    }

    public void Apply(FullBarrier e)
    {
        Invariant.Assert(e.Cpu == Cpu, "a barrier on this CPU");
        if (e.Reason == BarrierReason.MmdropLazyTlb) PrevMm = KernelIds.NoPrevMm;
    }

    public void Hash(ref StateHasher h)
    {
        h.Add(Cr3LamBits);
        h.Add(UntagLamBits);
        h.Add(Cpu);
        h.Add(Booted);
        h.Add(Curr);
        h.Add(Runqueue.Count);
        foreach (int t in Runqueue) h.Add(t);
        h.Add((int)Mode);
        h.Add(LoadedMm);
        h.Add(Switching);
        h.Add(SwitchingTo);
        h.Add(IsLazy);
        h.Add(ActiveMm);
        h.Add(LocalTlbGen);
        h.Add(RqMembarrierState);
        h.Add(PrevMm);
        // Only while set, so runs without task isolation keep their hashes.
        if (CtWorkPending) h.Add(0xC7_0001);
        if (!Online) h.Add(0xC7_0002);
    }
}
