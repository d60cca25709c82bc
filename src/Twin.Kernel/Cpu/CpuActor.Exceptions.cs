using Twin.Actors;
using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Sites;
using Twin.Kernel.Text;

namespace Twin.Kernel.Cpu;

// Exceptions that interrupt whatever the CPU does: NMIs (not maskable) and the INT3 trap of a
// patch site (Paths/Int3Handler.cs). The handler runs in an exception frame, in steps of its own,
// so other CPUs interleave with it; while it runs, the CPU's own flow is held (ExceptionFrame) and
// delivered after the handler's IRET, which serializes the core. An NMI that arrives while one of
// these handlers runs is dropped, not nested.
public sealed partial class CpuActor
{
    /// <summary>A text_exec of this site runs a kprobe'd instruction: an INT3 that is not text_poke's.</summary>
    public const int KprobeSite = -1;

    private bool _nmiArmed;

    /// <summary>The next NMI of this CPU's NMI source (<c>textPoke.nmiEveryNs</c>); the chain stops while the CPU idles.</summary>
    private void ArmNmi()
    {
        long every = Kernel.Config.TextPoke?.NmiEveryNs ?? 0;
        if (every == 0 || _nmiArmed) return;
        _nmiArmed = true;
        TellAfter(Random.NextLong(1, 2 * every), Self, new NmiArrived(Storm: false));
    }

    /// <summary>An NMI: its handler runs patchable text (a static call, a tracepoint) whatever the CPU does, interrupts off or not.</summary>
    private void OnNmi(NmiArrived nmi)
    {
        if (!nmi.Storm)
        {
            _nmiArmed = false;
            if (RunsIdle) return;
            ArmNmi();
        }
        else
        {
            Raise(new FaultInjected(Id, FaultKind.NmiStorm, Id, 0, 0));
        }
        if (InException || Kernel.Text is null) return;
        EnterException(nmi: true);
        if (Mode != CpuMode.Kernel) CtKernelEnter(); // ct_nmi_enter() from user mode or idle
        if (!RunPatchableText(TextContext.Nmi, Random.NextInt(Text.Sites))) ExitException();
    }

    /// <summary>Kernel code runs patchable site <paramref name="site"/> in the task's frame; the kernel step it takes is armed first, so a trap holds it until the handler's IRET.</summary>
    private async KernelPath TextExec(int site, TextContext context)
    {
        FrameAwaiter end = KernelStep();
        RunPatchableText(context, site);
        await end;
    }

    /// <summary>The CPU runs the instruction at <paramref name="site"/> (a static call or key, or <see cref="KprobeSite"/>); true if it trapped on an INT3.</summary>
    private bool RunPatchableText(TextContext context, int site)
    {
        if (Kernel.Text is null) return false;
        if (site != KprobeSite)
        {
            (int b0, int tail) = Text.Fetch(site, _textSeenSeq, Random);
            Raise(new TextFetched(Id, site, b0, tail, context));
            if (b0 != TextState.Int3) return false;
        }
        if (!InException) EnterException(nmi: false);
        Raise(new Int3Handled(Id, site, Int3Step.Trapped, 0, (int)context));
        Launch(Int3Handler(site));
        return true;
    }

    private void EnterException(bool nmi)
    {
        Invariant.Assert(!InException, "exceptions do not nest in the model");
        _exception.Enter(nmi);
        Push(_exception);
    }

    /// <summary>The handler's IRET (an NMI's too): it serializes; what arrived meanwhile is delivered now.</summary>
    private void ExitException()
    {
        Serialize(OrderingSite.ExceptionIret);
        Pop(_exception);
        while (_exception.HeldIrqs.Count > 0) Redeliver(_exception.HeldIrqs.Dequeue());
        if (_exception.Woken) TellAfter(0, Self, new RqWoken());
        if (_exception.TickDue) TellAfter(0, Self, new SchedTick(_slice));
        if (_exception.AcksDone)
        {
            _task.Resume();
        }
        else if (_exception.StepDue)
        {
            // The task's step came during the handler: it is armed again, a kernel step from now.
            long ns = StepNs();
            _task.Rearm();
            TellAfter(ns, Self, new Continue(_task.Token));
        }
        else if (_offlinePending && _task.Wait == FrameWait.Idle)
        {
            GoOffline();
        }
    }

    /// <summary>
    /// An interrupt for a CPU in an exception handler waits for its IRET; B22's waiting handler,
    /// outside an NMI, takes IPIs as it polls (the 2019 design's "the #BP handler clears the bit").
    /// </summary>
    private bool HeldByException(int slot)
    {
        if (!InException) return false;
        if (_exception.Spinning && !_exception.IsNmi && slot != SpuriousSlot && !HandlerStores(slot))
        {
            HandleIpiInKernel(slot);
            return true;
        }
        _exception.HeldIrqs.Enqueue(slot);
        return true;
    }
}
