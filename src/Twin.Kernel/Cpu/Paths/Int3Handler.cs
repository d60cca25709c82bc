using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Text;

namespace Twin.Kernel.Cpu;

// arch/x86/kernel/alternative.c: smp_text_poke_int3_handler() (poke_int3_handler() before the
// 2025 renames; kernel-model §7.2), in the exception frame. Its atomics on text_poke's refs are
// stores to the text actor, answered before the handler goes on.
public sealed partial class CpuActor
{
    private const long SpinPollNs = 1_000;
    private const long SpinHeartbeatNs = 100_000;

    /// <summary>
    /// smp_text_poke_int3_handler() for a trap at <paramref name="site"/>: <c>smp_rmb()</c>, then find
    /// the batch (mainline try-gets this CPU's <c>text_poke_array_refs</c>; B16 reads
    /// <c>nr_entries</c>; B17 reads <c>bp_desc</c> and try-gets its refs), read the entries and
    /// emulate the new instruction (B22 waits for the patch instead), put the ref and IRET.
    /// </summary>
    private async KernelPath Int3Handler(int site)
    {
        await HandlerStep(StepNs());
        int found;
        bool refTaken = false;
        if (Text.Design == TextDesign.PerCpuRefs)
        {
            // raw_atomic_inc_not_zero(this_cpu_ptr(&text_poke_array_refs))
            if (await HandlerStore(TextOpKind.TryGetRef) == 0)
            {
                Int3NotOurs(site, found: 0, refTaken);
                return;
            }
            found = Text.ArrayBatch;
            refTaken = true;
            await RefTaken(site);
        }
        else
        {
            found = Text.Design == TextDesign.B16NoSync ? Text.NrEntriesBatch : Text.DescPtr;
            if (found == 0)
            {
                Int3NotOurs(site, found, refTaken);
                return;
            }
            await HandlerStep(StepNs());
            if (Text.Design == TextDesign.B17StackDescriptor)
            {
                // atomic_inc_not_zero(&desc->refs) on the stack slot bp_desc pointed at: whatever lives there now.
                if (await HandlerStore(TextOpKind.TryGetDescRef) == 0)
                {
                    Int3NotOurs(site, found, refTaken);
                    return;
                }
                refTaken = true;
                await RefTaken(site);
            }
        }
        await Int3Emulate(site, found, refTaken);
    }

    /// <summary>An atomic of the handler on the text (a ref's inc_not_zero): its outcome, 1 if taken.</summary>
    private FrameAwaiter HandlerStore(TextOpKind kind) => StoreOn(_exception, Kernel.TextRef, new TextOp(_exception.NextToken(), kind, Id));

    /// <summary>The handler holds a ref on whatever batch the entries now belong to; it reads them a step later.</summary>
    private async KernelPath RefTaken(int site)
    {
        Raise(new Int3Handled(Id, site, Int3Step.RefTaken, Text.ArrayBatch, 0));
        await HandlerStep(StepNs());
    }

    /// <summary>Reads the entries (a bsearch for ip-1) and emulates the new instruction; B22 polls until the patch is done instead.</summary>
    private async KernelPath Int3Emulate(int site, int found, bool refTaken)
    {
        int array = Text.ArrayBatch;
        Raise(new Int3Handled(Id, site, Int3Step.ArrayRead, found, array));
        bool hit = site != KprobeSite && array != 0 && array == Text.Batch && Text.Patching(site);
        if (!hit)
        {
            Int3NotOurs(site, found, refTaken);
            return;
        }
        if (Kernel.Config.Has(BugSet.B22))
        {
            await Int3Spin(site, found, array);
        }
        else
        {
            Raise(new Int3Handled(Id, site, Int3Step.Emulated, array, Text.Target(site)));
        }
        Int3Return(site, found, refTaken);
    }

    /// <summary>B22: poll until the site's first byte is no longer INT3, saying now and then that it still waits (and taking IPIs meanwhile).</summary>
    private async KernelPath Int3Spin(int site, int found, int array)
    {
        long beatNs = NowNs;
        Raise(new Int3Handled(Id, site, Int3Step.Spinning, array, 0));
        _exception.Spinning = true;
        while (true)
        {
            await HandlerStep(SpinPollNs);
            if (Text.Byte0(site) != TextState.Int3) break;
            if (NowNs - beatNs >= SpinHeartbeatNs)
            {
                beatNs = NowNs;
                Raise(new Int3Handled(Id, site, Int3Step.Spinning, found, 0));
            }
        }
        Raise(new Int3Handled(Id, site, Int3Step.SpinEnded, found, 0));
    }

    /// <summary>Not text_poke's INT3: a kprobe's is handed on; one at a patch site that nobody claims is an oops (die()).</summary>
    private void Int3NotOurs(int site, int found, bool refTaken)
    {
        Raise(new Int3Handled(Id, site, Int3Step.NotOurs, found, site == KprobeSite ? 0 : 1));
        Int3Return(site, found, refTaken);
    }

    /// <summary>put_text_poke_array(): <c>smp_mb__before_atomic(); atomic_dec(refs);</c> then the IRET.</summary>
    private void Int3Return(int site, int found, bool refTaken)
    {
        if (refTaken)
        {
            bool descriptor = Text.Design == TextDesign.B17StackDescriptor;
            int batch = descriptor ? Text.ArrayBatch : found;
            // A posted atomic_dec: P4 polls the count, and this CPU's later refs follow it in order.
            Kernel.TextRef.Tell(new TextOp(0, descriptor ? TextOpKind.PutDescRef : TextOpKind.PutRef, Id), Self);
            Raise(new Int3Handled(Id, site, Int3Step.RefPut, batch, 0));
        }
        ExitException();
    }
}
