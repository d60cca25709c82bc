using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Sites;
using Twin.Kernel.Faults;
using Twin.Kernel.Text;

namespace Twin.Kernel.Cpu;

// Exceptions that interrupt whatever the CPU does: NMIs (not maskable) and the INT3 trap of
// text_poke_bp (smp_text_poke_int3_handler, kernel-model §7.2). The handler runs in steps of its
// own, so other CPUs interleave with it; while it runs, the CPU's own flow is held: its due
// steps, ticks, wakeups and IPIs wait (an INT3 handler and an NMI run with interrupts off) and
// are delivered after the handler's IRET, which serializes the core. An NMI that arrives while
// one of these handlers runs is dropped, not nested. The handler's atomics on text_poke's refs
// are requests to the text actor, answered before the handler goes on.
public sealed partial class CpuActor
{
    /// <summary>A text_exec of this site runs a kprobe'd instruction: an INT3 that is not text_poke's.</summary>
    public const int KprobeSite = -1;

    private const long SpinPollNs = 1_000;
    private const long SpinHeartbeatNs = 100_000;

    private enum Int3Stage : byte { Lookup, RefAnswer, DescRef, DescRefAnswer, ReadArray, Spin }

    private bool _inException;
    private bool _excNmi;
    private Int3Stage _excStage;
    private long _excToken;
    private int _excSite;
    private int _excFound;
    private bool _excRef;
    private long _excBeatNs;
    private bool _excMainDue;
    private bool _excTickDue;
    private bool _excWaitDone;
    private bool _excWoken;
    private bool _excStalled;
    private long _excReply;
    private readonly Queue<int> _excIpis = new();
    private bool _nmiArmed;

    /// <summary>The text write count at this CPU's last core-serializing event: later writes may be fetched stale.</summary>
    private long _textSeenSeq;

    /// <summary>The next NMI of this CPU's NMI source (<c>textPoke.nmiEveryNs</c>); the chain stops while the CPU idles.</summary>
    private void ArmNmi()
    {
        long every = Kernel.Config.TextPoke?.NmiEveryNs ?? 0;
        if (every == 0 || _nmiArmed) return;
        _nmiArmed = true;
        TellAfter(Random.NextLong(1, 2 * every), Self, new NmiArrived(Storm: false));
    }

    private void OnNmi(NmiArrived nmi)
    {
        if (!nmi.Storm)
        {
            _nmiArmed = false;
            if (Mode == CpuMode.Idle || _phase == CpuPhase.Idle) return;
            ArmNmi();
        }
        else
        {
            Raise(new FaultInjected(Id, FaultKind.NmiStorm, Id, 0, 0));
        }
        if (_inException || Kernel.Text is not { } text) return;
        EnterException(nmi: true);
        if (Mode != CpuMode.Kernel) CtKernelEnter(); // ct_nmi_enter() from user mode or idle
        if (!RunPatchableText(TextContext.Nmi, Random.NextInt(text.State.Sites))) ExitException();
    }

    /// <summary>The CPU runs the instruction at <paramref name="site"/> (a static call or key, or <see cref="KprobeSite"/>); true if it trapped on an INT3.</summary>
    private bool RunPatchableText(TextContext context, int site)
    {
        TextActor? text = Kernel.Text;
        if (text is null) return false;
        if (site != KprobeSite)
        {
            (int b0, int tail) = text.Fetch(site, _textSeenSeq, Random);
            Raise(new TextFetched(Id, site, b0, tail, context));
            if (b0 != TextState.Int3) return false;
        }
        if (!_inException) EnterException(nmi: false);
        Raise(new Int3Handled(Id, site, Int3Step.Trapped, 0, (int)context));
        _excSite = site;
        _excFound = 0;
        _excRef = false;
        ExceptionAfter(StepNs(), Int3Stage.Lookup);
        return true;
    }

    private void EnterException(bool nmi)
    {
        Invariant.Assert(!_inException, "exceptions do not nest in the model");
        _inException = true;
        _excNmi = nmi;
        _excMainDue = _excTickDue = _excWaitDone = _excWoken = false;
    }

    private void ExceptionAfter(long ns, Int3Stage stage)
    {
        _excStage = stage;
        _excToken++;
        TellAfter(ns, Self, new ExceptionStep(_excToken));
    }

    /// <summary>An atomic of the handler on the text (a ref's inc_not_zero): the handler waits for its outcome, then goes on at <paramref name="stage"/>.</summary>
    private void ExceptionStore(TextOpKind kind, Int3Stage stage)
    {
        _excStage = stage;
        _excStalled = true;
        Kernel.TextRef.Tell(new TextOp(++_excToken, kind, Id), Self);
    }

    private void OnExceptionStep(ExceptionStep step)
    {
        if (step.Token != _excToken || !_inException) return;
        RunExceptionStage();
    }

    private void RunExceptionStage()
    {
        TextState s = Kernel.Text!.State;
        switch (_excStage)
        {
            case Int3Stage.Lookup:
                // smp_rmb(), then find the batch: mainline try-gets this CPU's ref; B16 reads nr_entries; B17 reads bp_desc.
                if (s.Design == TextDesign.PerCpuRefs)
                {
                    ExceptionStore(TextOpKind.TryGetRef, Int3Stage.RefAnswer);
                    return;
                }
                _excFound = s.Design == TextDesign.B16NoSync ? s.NrEntriesBatch : s.DescPtr;
                if (_excFound == 0) goto default;
                ExceptionAfter(StepNs(), s.Design == TextDesign.B17StackDescriptor ? Int3Stage.DescRef : Int3Stage.ReadArray);
                return;
            case Int3Stage.RefAnswer:
                if (_excReply == 0) goto default;
                _excFound = s.ArrayBatch;
                RefTaken(s);
                return;
            case Int3Stage.DescRef:
                // atomic_inc_not_zero(&desc->refs) on the stack slot bp_desc pointed at: whatever lives there now.
                ExceptionStore(TextOpKind.TryGetDescRef, Int3Stage.DescRefAnswer);
                return;
            case Int3Stage.DescRefAnswer:
                if (_excReply == 0) goto default;
                RefTaken(s);
                return;
            case Int3Stage.ReadArray:
                ReadArrayAndEmulate(s);
                return;
            case Int3Stage.Spin:
                Int3Spin(s);
                return;
            default:
                Int3NotOurs();
                return;
        }
    }

    /// <summary>The handler holds a ref on whatever batch the entries now belong to; it reads them next.</summary>
    private void RefTaken(TextState s)
    {
        _excRef = true;
        Raise(new Int3Handled(Id, _excSite, Int3Step.RefTaken, s.ArrayBatch, 0));
        ExceptionAfter(StepNs(), Int3Stage.ReadArray);
    }

    /// <summary>Reads the entries (a bsearch for ip-1) and emulates the new instruction; B22 waits for the patch instead.</summary>
    private void ReadArrayAndEmulate(TextState s)
    {
        int array = s.ArrayBatch;
        Raise(new Int3Handled(Id, _excSite, Int3Step.ArrayRead, _excFound, array));
        bool found = _excSite != KprobeSite && array != 0 && array == s.Batch && s.Patching(_excSite);
        if (!found)
        {
            Int3NotOurs();
            return;
        }
        if (Kernel.Config.Has(BugSet.B22))
        {
            _excBeatNs = NowNs;
            Raise(new Int3Handled(Id, _excSite, Int3Step.Spinning, array, 0));
            ExceptionAfter(SpinPollNs, Int3Stage.Spin);
            return;
        }
        Raise(new Int3Handled(Id, _excSite, Int3Step.Emulated, array, s.Target[_excSite]));
        Int3Return();
    }

    /// <summary>B22: poll until the site's first byte is no longer INT3, saying now and then that it still waits.</summary>
    private void Int3Spin(TextState s)
    {
        if (s.Byte0[_excSite] != TextState.Int3)
        {
            Raise(new Int3Handled(Id, _excSite, Int3Step.SpinEnded, _excFound, 0));
            Int3Return();
            return;
        }
        if (NowNs - _excBeatNs >= SpinHeartbeatNs)
        {
            _excBeatNs = NowNs;
            Raise(new Int3Handled(Id, _excSite, Int3Step.Spinning, _excFound, 0));
        }
        ExceptionAfter(SpinPollNs, Int3Stage.Spin);
    }

    /// <summary>Not text_poke's INT3: a kprobe's is handed on; one at a patch site that nobody claims is an oops (die()).</summary>
    private void Int3NotOurs()
    {
        Raise(new Int3Handled(Id, _excSite, Int3Step.NotOurs, _excFound, _excSite == KprobeSite ? 0 : 1));
        Int3Return();
    }

    /// <summary>put_text_poke_array(): smp_mb__before_atomic(); atomic_dec(refs); then the IRET.</summary>
    private void Int3Return()
    {
        if (_excRef)
        {
            TextState text = Kernel.Text!.State;
            bool descriptor = text.Design == TextDesign.B17StackDescriptor;
            int batch = descriptor ? text.ArrayBatch : _excFound;
            // A posted atomic_dec: P4 polls the count, and this CPU's later refs follow it in order.
            Kernel.TextRef.Tell(new TextOp(0, descriptor ? TextOpKind.PutDescRef : TextOpKind.PutRef, Id), Self);
            _excRef = false;
            Raise(new Int3Handled(Id, _excSite, Int3Step.RefPut, batch, 0));
        }
        ExitException();
    }

    /// <summary>The handler's IRET (an NMI's too): it serializes; what arrived meanwhile is delivered now.</summary>
    private void ExitException()
    {
        Serialize(OrderingSite.ExceptionIret);
        _inException = false;
        while (_excIpis.Count > 0) Redeliver(_excIpis.Dequeue());
        if (_excWoken) TellAfter(0, Self, new Runqueue.RqWoken());
        if (_excTickDue) TellAfter(0, Self, new SchedTick(_slice));
        if (_excWaitDone) WaitDone();
        else if (_excMainDue) ContinueAfter(StepNs(), _phase);
        else if (_offlinePending && _phase == CpuPhase.Idle) GoOffline();
    }

    /// <summary>
    /// An interrupt for a CPU in an exception handler waits for its IRET; B22's waiting handler,
    /// outside an NMI, takes IPIs as it polls (the 2019 design's "the #BP handler clears the bit").
    /// </summary>
    private bool HeldByException(int slot)
    {
        if (!_inException) return false;
        if (_excStage == Int3Stage.Spin && !_excNmi && slot != SpuriousSlot && !HandlerStores(slot))
        {
            HandleIpiInKernel(slot);
            return true;
        }
        _excIpis.Enqueue(slot);
        return true;
    }
}
