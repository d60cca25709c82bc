using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;

namespace Twin.Kernel.Cpu;

// Interrupt delivery: the tick, IPIs and spurious interrupts as they reach the CPU. From user mode
// an interrupt ends the task's user-mode path and enters the kernel (Paths/IrqEntry.cs); in the
// kernel its handler runs at once if interrupts are on, and waits in a queue until they are back
// on otherwise; an exception handler on the CPU holds it until its IRET.
public sealed partial class CpuActor
{
    /// <summary>The pending-interrupt slot of the tick (it always asks to reschedule).</summary>
    private const int TickSlot = -1;

    /// <summary>The pending-interrupt slot of a spurious interrupt (no csd to run).</summary>
    private const int SpuriousSlot = -2;

    /// <summary>Interrupts that arrived while local interrupts were off (csd slots, or <see cref="SpuriousSlot"/>).</summary>
    private readonly Queue<int> _pendingIpis = new();

    private void OnTick(SchedTick tick)
    {
        if (tick.Slice != _slice) return;
        if (InException)
        {
            _exception.TickDue = true;
            return;
        }
        if (RunsIdle) return;
        if (Mode == CpuMode.User)
        {
            InterruptFromUser(TickSlot);
            return;
        }
        _needResched = true;
        if (!_irqsOff) InterruptReturnToKernel();
    }

    private void OnIpiArrived(IpiArrived arrived)
    {
        if (HeldByException(arrived.Slot)) return;
        if (_irqsOff)
        {
            _pendingIpis.Enqueue(arrived.Slot);
            return;
        }
        if (Mode == CpuMode.User) InterruptFromUser(arrived.Slot);
        else HandleIpiInKernel(arrived.Slot);
    }

    /// <summary>A spurious interrupt: entry and exit with no handler; an idle CPU just goes back to idle.</summary>
    private void OnSpuriousIrq(SpuriousIrq irq)
    {
        if (RunsIdle) return;
        if (irq.Storm) Raise(new FaultInjected(Id, FaultKind.IrqStorm, Id, 0, 0));
        if (HeldByException(SpuriousSlot)) return;
        if (_irqsOff)
        {
            _pendingIpis.Enqueue(SpuriousSlot);
            return;
        }
        if (Mode == CpuMode.User) InterruptFromUser(SpuriousSlot);
        else InterruptReturnToKernel();
    }

    /// <summary>
    /// An interrupt in user mode: the task's user-mode path ends where it waited (the rest of its
    /// work is left for the interrupt's exit), and the interrupt's entry path runs.
    /// </summary>
    private void InterruptFromUser(int slot)
    {
        long remaining = Math.Max(0, _workUntilNs - NowNs);
        Invariant.Assert(_task.Wait == FrameWait.User, "user mode is a user-mode wait of the task's path");
        _task.NextToken();
        _task.Resume(interrupted: true);
        Launch(IrqFromUserMode(slot, remaining));
    }

    /// <summary>An interrupt in kernel mode with interrupts on.</summary>
    private void HandleIpiInKernel(int slot) => Launch(IrqInKernel(slot));

    private void IrqsOff() => _irqsOff = true;

    /// <summary>
    /// local_irq_enable(): interrupts that arrived meanwhile are taken now, in kernel mode. A handler
    /// that must store to the runqueue (and wait for it) is taken a moment later instead, as a fresh
    /// interrupt, with those queued behind it: interrupt delivery may lag, and the code after the
    /// enable cannot wait.
    /// </summary>
    private void IrqsOn()
    {
        _irqsOff = false;
        while (_pendingIpis.Count > 0)
        {
            int slot = _pendingIpis.Peek();
            if (slot != SpuriousSlot && HandlerStores(slot))
            {
                while (_pendingIpis.Count > 0) Redeliver(_pendingIpis.Dequeue());
                return;
            }
            HandleIpiInKernel(_pendingIpis.Dequeue());
        }
    }

    /// <summary>An interrupt taken again as a fresh arrival, after the actors ready now.</summary>
    private void Redeliver(int slot)
    {
        if (slot == SpuriousSlot) TellAfter(0, Self, new SpuriousIrq(Storm: false));
        else TellAfter(0, Self, new IpiArrived(slot));
    }

    /// <summary>Returning from an interrupt to kernel code: x86 IRET and arm64/powerpc exception return serialize; riscv sret does not.</summary>
    private void InterruptReturnToKernel()
    {
        if (_arch.HasSysret) Serialize(Sites.OrderingSite.IrqReturnIret);
        else if (_arch.ExceptionReturnSerializes) Serialize(Sites.OrderingSite.IrqReturnEret);
    }
}
