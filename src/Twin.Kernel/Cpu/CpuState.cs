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
/// One CPU (kernel-model §1.1): its x86 <c>cpu_tlbstate</c>, the active_mm of what it runs,
/// whether it runs user code, LAM bits, context-tracking work, and whether it is online. Its
/// runqueue is an actor of its own (<see cref="Runqueue.RqState"/>). Changed only by Apply: the
/// same code for a live run, an actor recovery and a whole-run replay. Invariants are asserted
/// where state changes.
/// </summary>
public sealed class CpuState
{
    public CpuState(int cpu) => Cpu = cpu;

    public int Cpu { get; }

    public bool Booted { get; private set; }

    /// <summary>The CPU runs user code (between a return to user and the next kernel entry); otherwise kernel code or idle.</summary>
    public bool InUser { get; private set; }

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


    public void Apply(CpuBooted e)
    {
        Invariant.Assert(e.Cpu == Cpu && !Booted, "a CPU boots once");
        Booted = true;
    }

    /// <summary>In cpu_online_mask. An offline CPU runs its idle task and takes no work.</summary>
    public bool Online { get; private set; } = true;

    public void Apply(CpuHotplugged e)
    {
        Invariant.Assert(e.Cpu == Cpu && e.Online != Online, "a CPU goes offline only when online, and back");
        Invariant.Assert(!InUser, "a CPU goes offline from its idle task");
        Online = e.Online;
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
        Invariant.Assert(InUser, "kernel entry from user mode");
        InUser = false;
    }

    public void Apply(ReturnedToUser e)
    {
        Invariant.Assert(!InUser, "return to user from kernel code");
        Invariant.Assert(!Switching && !IsLazy, "user mode runs on loaded, non-lazy page tables");
        InUser = true;
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

    public void Apply(FullBarrier e) => Invariant.Assert(e.Cpu == Cpu, "a barrier on this CPU");

    public void Hash(ref StateHasher h)
    {
        h.Add(Cr3LamBits);
        h.Add(UntagLamBits);
        h.Add(Cpu);
        h.Add(Booted);
        h.Add(InUser);
        h.Add(LoadedMm);
        h.Add(Switching);
        h.Add(SwitchingTo);
        h.Add(IsLazy);
        h.Add(ActiveMm);
        h.Add(LocalTlbGen);
        // Only while set, so runs without task isolation keep their hashes.
        if (CtWorkPending) h.Add(0xC7_0001);
        if (!Online) h.Add(0xC7_0002);
    }
}
