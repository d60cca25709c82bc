using Twin.Kernel.Events;
using Twin.Kernel.Tasks;
using Twin.Kernel.Text;

namespace Twin.Kernel.Cpu;

// x86 text_poke_bp (kernel-model §7.2): the patching side. smp_text_poke_batch_finish() under
// text_mutex: P0 (refs), P1 (INT3), S1, P2 (the tail bytes), S2, P3 (the new first byte), S3, P4
// (drain refs, reset). Each S step is smp_text_poke_sync_each_cpu(): on_each_cpu(do_sync_core)
// with wait, an IPI to every other CPU and the handler run locally.
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
        _pokeSites = _kernel.Text is { } text ? sites & ((1 << text.State.Sites) - 1) : 0;
        if (_pokeSites == 0)
        {
            ContinueAfter(StepNs(), after);
            return;
        }
        TextMutexLock();
    }

    /// <summary>mutex_lock(&amp;text_mutex): a sleeping lock, modelled as a retry after a kernel step.</summary>
    private void TextMutexLock()
    {
        TextActor text = _kernel.Text!;
        if (!text.TryLock(Id))
        {
            ContinueAfter(StepNs(), CpuPhase.TextMutexWait);
            return;
        }
        text.Step(Id, TextPokePhase.Began, _pokeSites);
        ContinueAfter(StepNs(), CpuPhase.PokeInt3);
    }

    private void PokeInt3()
    {
        _kernel.Text!.Step(Id, TextPokePhase.Int3Written, _pokeSites);
        SyncEachCpu(TextPokePhase.Synced1, CpuPhase.PokeTail);
    }

    private void PokeTail()
    {
        _kernel.Text!.Step(Id, TextPokePhase.TailWritten, _pokeSites);
        SyncEachCpu(TextPokePhase.Synced2, CpuPhase.PokeFirst);
    }

    private void PokeFirst()
    {
        _kernel.Text!.Step(Id, TextPokePhase.FirstWritten, _pokeSites);
        SyncEachCpu(TextPokePhase.Synced3, CpuPhase.PokeFinish);
    }

    /// <summary>on_each_cpu(do_sync_core, NULL, 1): every other online CPU by IPI, this one directly.</summary>
    private void SyncEachCpu(TextPokePhase done, CpuPhase next)
    {
        _pokeSynced = done;
        _pokeNext = next;
        BeginWait(CpuPhase.PokeSyncWait);
        for (int c = 0; c < _kernel.Config.Cpus; c++)
        {
            if (!_kernel.Cpus[c].State.Online) continue; // on_each_cpu(): online CPUs
            if (c == Id) RunLocalHandler(IpiKind.TextPokeSync, 0, 0);
            // text_poke_sync_deferrable(): on_each_cpu_cond(do_sync_core_defer_cond, ...).
            else if (_kernel.Cpus[c].DefersSyncs && _kernel.Cpus[c].TryDeferSync(Id)) continue;
            else SendIpi(c, IpiKind.TextPokeSync, 0, 0);
        }
        EndSending();
    }

    /// <summary>Every CPU ran do_sync_core(): the S step is over.</summary>
    private void TextPokeSynced()
    {
        _kernel.Text!.Step(Id, _pokeSynced, _pokeSites);
        ContinueAfter(StepNs(), _pokeNext);
    }

    /// <summary>P4, after the design in force: drop every CPU's ref and wait for handlers to put theirs (B16: clear vec, then nr_entries; B17: clear bp_desc, drop the descriptor's ref).</summary>
    private void PokeFinish()
    {
        TextActor text = _kernel.Text!;
        switch (text.State.Design)
        {
            case TextDesign.B16NoSync:
                text.Step(Id, TextPokePhase.VecCleared, _pokeSites);
                ContinueAfter(StepNs(), CpuPhase.PokeNrEntries);
                return;
            case TextDesign.B17StackDescriptor:
                text.Step(Id, TextPokePhase.DescCleared, _pokeSites);
                text.PutDescRef();
                break;
            default:
                for (int c = 0; c < _kernel.Config.Cpus; c++) text.PutRef(c);
                break;
        }
        PokeRefsWait();
    }

    /// <summary>P4's wait: "if (!atomic_dec_and_test(refs)) atomic_cond_read_acquire(refs, !VAL)".</summary>
    private void PokeRefsWait()
    {
        TextState s = _kernel.Text!.State;
        bool held = s.Design == TextDesign.B17StackDescriptor ? s.DescRefs > 0 : Array.Exists(s.Refs, r => r > 0);
        if (held) ContinueAfter(StepNs(), CpuPhase.PokeRefsWait);
        else ContinueAfter(StepNs(), CpuPhase.PokeEnd);
    }

    /// <summary>B16: bp_patching.nr_entries = 0, right after vec = NULL, nothing between.</summary>
    private void PokeNrEntries()
    {
        _kernel.Text!.Step(Id, TextPokePhase.NrEntriesCleared, _pokeSites);
        PokeEnd();
    }

    /// <summary>The batch is retired, text_mutex released; the caller goes on.</summary>
    private void PokeEnd()
    {
        _kernel.Text!.Step(Id, TextPokePhase.Ended, _pokeSites);
        ContinueAfter(StepNs(), _pokeAfter);
    }
}
