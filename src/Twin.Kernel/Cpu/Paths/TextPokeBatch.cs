using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Ipi;
using Twin.Kernel.Text;

namespace Twin.Kernel.Cpu;

// arch/x86/kernel/alternative.c: a static key or call flip as smp_text_poke_batch_finish()
// (text_poke_bp_batch() before the 2025 renames; kernel-model §7.2) under text_mutex. Each write
// to the text or text_poke's descriptor is a store to the text actor that this CPU waits for.
public sealed partial class CpuActor
{
    /// <summary>
    /// The batch patching <paramref name="sites"/> (a bit mask): P0 (refs), P1 (INT3), S1, P2 (the
    /// tail bytes), S2, P3 (the new first byte), S3, P4 (drain the refs, reset), each S
    /// smp_text_poke_sync_each_cpu(), a kernel step between the steps.
    /// </summary>
    private async KernelPath TextPokeBatch(int sites)
    {
        sites = Kernel.Text is null ? 0 : sites & ((1 << Text.Sites) - 1);
        if (sites == 0) return;
        await LockTextMutex();
        await PokeStep(TextPokePhase.Began, sites);
        await KernelStep();
        await WriteThenSync(TextPokePhase.Int3Written, TextPokePhase.Synced1, sites);
        await WriteThenSync(TextPokePhase.TailWritten, TextPokePhase.Synced2, sites);
        await WriteThenSync(TextPokePhase.FirstWritten, TextPokePhase.Synced3, sites);
        await RetireBatch(sites);
        await PokeStep(TextPokePhase.Ended, sites);
    }

    /// <summary>A write of the batch (P1, P2 or P3), then its smp_text_poke_sync_each_cpu() (S1, S2, S3).</summary>
    private async KernelPath WriteThenSync(TextPokePhase write, TextPokePhase synced, int sites)
    {
        await PokeStep(write, sites);
        await SyncEachCpu();
        await PokeStep(synced, sites);
        await KernelStep();
    }

    /// <summary>mutex_lock(&amp;text_mutex): a sleeping lock, modelled as a look, then a try (a cmpxchg), and a retry a kernel step later.</summary>
    private async KernelPath LockTextMutex()
    {
        while (true)
        {
            if (Text.MutexOwner < 0 && await Store(Kernel.TextRef, new TextOp(NextToken(), TextOpKind.TryLock, Id)) != 0) return;
            await KernelStep();
        }
    }

    /// <summary>One write or step of the batch, a store to the text.</summary>
    private FrameAwaiter PokeStep(TextPokePhase phase, int sites) =>
        Store(Kernel.TextRef, new TextOp(NextToken(), TextOpKind.Step, Id, phase, sites));

    /// <summary>
    /// P4 after the design in force: drop every CPU's ref and wait for the handlers to put theirs:
    /// "if (!atomic_dec_and_test(refs)) atomic_cond_read_acquire(refs, !VAL)". B16 clears vec,
    /// then nr_entries, with no sync between; B17 clears bp_desc and drops the descriptor's ref.
    /// </summary>
    private async KernelPath RetireBatch(int sites)
    {
        switch (Text.Design)
        {
            case TextDesign.B16NoSync:
                await PokeStep(TextPokePhase.VecCleared, sites);
                await KernelStep();
                await PokeStep(TextPokePhase.NrEntriesCleared, sites);
                return;
            case TextDesign.B17StackDescriptor:
                await PokeStep(TextPokePhase.DescCleared, sites);
                await Store(Kernel.TextRef, new TextOp(NextToken(), TextOpKind.PutDescRef, Id));
                break;
            default:
                await Store(Kernel.TextRef, new TextOp(NextToken(), TextOpKind.PutAllRefs, Id));
                break;
        }
        while (Text.RefsHeld) await KernelStep();
        await KernelStep();
    }

    /// <summary>
    /// smp_text_poke_sync_each_cpu(): on_each_cpu(do_sync_core, NULL, 1), every other online CPU by
    /// IPI, then this one directly. With task isolation, text_poke_sync_deferrable():
    /// on_each_cpu_cond(do_sync_core_defer_cond, ...) lets an isolated CPU's context-tracking
    /// state decide; a refusal is answered with the IPI.
    /// </summary>
    private async KernelPath SyncEachCpu()
    {
        BeginWait();
        for (int c = 0; c < Cpus; c++)
        {
            if (c == Id || !Cpu(c).Online) continue; // on_each_cpu(): online CPUs
            if (Cpu(c).DefersSyncs)
            {
                _acksPending++;
                Kernel.CpuRefs[c].Tell(new CtWorkRequest(Id, _waitToken), Self);
            }
            else
            {
                SendIpi(c, IpiKind.TextPokeSync, 0, 0);
            }
        }
        if (State.Online) RunLocalHandler(IpiKind.TextPokeSync, 0, 0);
        await CsdLockWait();
    }
}
