using Twin.Kernel.Events;
using Twin.Kernel.Tasks;
using Twin.Kernel.Text;

namespace Twin.Kernel.Cpu;

// x86 text_poke_bp (kernel-model §7.2): the patching side. smp_text_poke_batch_finish() under
// text_mutex: P0 (refs), P1 (INT3), S1, P2 (the tail bytes), S2, P3 (the new first byte), S3, P4
// (drain refs, reset). Each S step is smp_text_poke_sync_each_cpu(): on_each_cpu(do_sync_core)
// with wait, an IPI to every other CPU and the handler run locally. Each write to the text is a
// store to the text actor that this CPU waits for.
public sealed partial class CpuActor
{
    private int _pokeSites;
    private CpuPhase _pokeAfter;
    private CpuPhase _pokeNext;
    private TextPokePhase _pokeSynced;

    /// <summary>A text_poke or text_exec step, in a syscall or a kthread's work item; then <paramref name="after"/>.</summary>
    private void TextStep(Step step, TextContext context, CpuPhase after)
    {
        if (step.Kind == StepKind.TextPoke)
        {
            TextPokeBatch(step.Target, after);
            return;
        }
        // The step's end is armed first: a trap holds it until the handler's IRET.
        ContinueAfter(StepNs(), after);
        RunPatchableText(context, step.Target);
    }

    /// <summary>A static key or call changes the instructions at <paramref name="sites"/> (a bit mask); then <paramref name="after"/>.</summary>
    private void TextPokeBatch(int sites, CpuPhase after)
    {
        _pokeAfter = after;
        _pokeSites = Kernel.Text is { } text ? sites & ((1 << text.State.Sites) - 1) : 0;
        if (_pokeSites == 0)
        {
            ContinueAfter(StepNs(), after);
            return;
        }
        TextMutexLock();
    }

    /// <summary>mutex_lock(&amp;text_mutex): a sleeping lock, modelled as a look, then a try (a cmpxchg), and a retry a kernel step later.</summary>
    private void TextMutexLock()
    {
        if (Kernel.Text!.MutexOwner >= 0)
        {
            ContinueAfter(StepNs(), CpuPhase.TextMutexWait);
            return;
        }
        Store(Kernel.TextRef, new TextOp(NextToken(), TextOpKind.TryLock, Id), CpuPhase.TextLockAnswer);
    }

    private void TextMutexAnswered()
    {
        if (_reply == 0)
        {
            ContinueAfter(StepNs(), CpuPhase.TextMutexWait);
            return;
        }
        PokeStep(TextPokePhase.Began, CpuPhase.PokeBegan);
    }

    /// <summary>One write or step of the batch, a store to the text; then <paramref name="then"/>.</summary>
    private void PokeStep(TextPokePhase phase, CpuPhase then) =>
        Store(Kernel.TextRef, new TextOp(NextToken(), TextOpKind.Step, Id, phase, _pokeSites), then);

    /// <summary>on_each_cpu(do_sync_core, NULL, 1): every other online CPU by IPI (or deferred), then this one directly.</summary>
    private void SyncEachCpu(TextPokePhase done, CpuPhase next)
    {
        _pokeSynced = done;
        _pokeNext = next;
        BeginWait(CpuPhase.PokeSyncWait);
        for (int c = 0; c < Kernel.Config.Cpus; c++)
        {
            if (c == Id || !Kernel.Cpus[c].State.Online) continue; // on_each_cpu(): online CPUs
            if (Kernel.Cpus[c].DefersSyncs)
            {
                // text_poke_sync_deferrable(): on_each_cpu_cond(do_sync_core_defer_cond, ...): the
                // target's context-tracking state decides; a refusal is answered with the IPI.
                _acksPending++;
                Kernel.CpuRefs[c].Tell(new CtWorkRequest(Id, _waitToken), Self);
            }
            else
            {
                SendIpi(c, IpiKind.TextPokeSync, 0, 0);
            }
        }
        if (State.Online) RunLocalHandler(IpiKind.TextPokeSync, 0, 0);
        EndSending();
    }

    /// <summary>The text's answer to a deferral: set (counts as done) or refused (the CPU gets the IPI).</summary>
    private void OnCtWorkAnswer(CtWorkAnswer answer)
    {
        if (answer.WaitToken != _waitToken) return;
        if (!answer.Deferred)
        {
            RaiseIpi(answer.Cpu, IpiKind.TextPokeSync, 0, 0);
            return;
        }
        OnIpiAcked(new IpiAcked(answer.WaitToken));
    }

    /// <summary>Every CPU ran do_sync_core(): the S step is over.</summary>
    private void TextPokeSynced() => PokeStep(_pokeSynced, CpuPhase.PokeSyncedDone);

    /// <summary>P4, after the design in force: drop every CPU's ref and wait for handlers to put theirs (B16: clear vec, then nr_entries; B17: clear bp_desc, drop the descriptor's ref).</summary>
    private void PokeFinish()
    {
        switch (Kernel.Text!.State.Design)
        {
            case TextDesign.B16NoSync:
                PokeStep(TextPokePhase.VecCleared, CpuPhase.PokeVecCleared);
                return;
            case TextDesign.B17StackDescriptor:
                PokeStep(TextPokePhase.DescCleared, CpuPhase.PokeDescCleared);
                return;
            default:
                Store(Kernel.TextRef, new TextOp(NextToken(), TextOpKind.PutAllRefs, Id), CpuPhase.PokeRefsWait);
                return;
        }
    }

    private void PokeDropDescRef() => Store(Kernel.TextRef, new TextOp(NextToken(), TextOpKind.PutDescRef, Id), CpuPhase.PokeRefsWait);

    /// <summary>P4's wait: "if (!atomic_dec_and_test(refs)) atomic_cond_read_acquire(refs, !VAL)".</summary>
    private void PokeRefsWait()
    {
        TextState s = Kernel.Text!.State;
        bool held = s.Design == TextDesign.B17StackDescriptor ? s.DescRefs > 0 : Array.Exists(s.Refs, r => r > 0);
        if (held) ContinueAfter(StepNs(), CpuPhase.PokeRefsWait);
        else ContinueAfter(StepNs(), CpuPhase.PokeEnd);
    }

    /// <summary>The batch is retired, text_mutex released (B16 comes here right after nr_entries = 0); the caller goes on.</summary>
    private void PokeEnd() => PokeStep(TextPokePhase.Ended, CpuPhase.PokeEnded);
}
