using Twin.Actors;
using Twin.Kernel.Events;

namespace Twin.Kernel.Text;

/// <summary>
/// Patchable kernel text and text_poke's shared descriptor (kernel-model §7.2). Each site is a
/// five-byte instruction (a static call's CALL, a static key's JMP32/NOP5) with a version: patches
/// move it to the next one. Byte 0 and bytes 1..4 are kept apart, because that is where a torn
/// view would show (T1); each remembers its previous value and when it was written, so that a CPU
/// that has not serialized since may still fetch the old one.
/// </summary>
public sealed class TextState
{
    /// <summary>The first byte is INT3.</summary>
    public const int Int3 = -1;

    public TextState(int sites, int cpus, TextDesign design)
    {
        Sites = sites;
        Design = design;
        Byte0 = new int[sites];
        Byte0Prev = new int[sites];
        Byte0Seq = new long[sites];
        Tail = new int[sites];
        TailPrev = new int[sites];
        TailSeq = new long[sites];
        Target = new int[sites];
        Refs = new int[cpus];
    }

    public int Sites { get; }

    public TextDesign Design { get; }

    public int[] Byte0 { get; }
    public int[] Byte0Prev { get; }
    public long[] Byte0Seq { get; }
    public int[] Tail { get; }
    public int[] TailPrev { get; }
    public long[] TailSeq { get; }

    /// <summary>Per site, the version the batch in progress writes.</summary>
    public int[] Target { get; }

    /// <summary>Text writes so far; a CPU remembers this count at each core-serializing event.</summary>
    public long WriteSeq { get; private set; }

    /// <summary>The batch in progress (text_mutex held), 0 if none; its CPU and sites.</summary>
    public int Batch { get; private set; }

    public int BatchCpu { get; private set; } = -1;

    public int BatchSites { get; private set; }

    /// <summary>Batches begun so far (ids count from 1).</summary>
    public int Batches { get; private set; }

    /// <summary>The batch whose entries the INT3 handler reads (text_poke_array, bp_patching.vec, the stack descriptor); 0: empty or NULL.</summary>
    public int ArrayBatch { get; private set; }

    /// <summary>B16: the batch for which <c>bp_patching.nr_entries</c> is non-zero; 0 when it is zero.</summary>
    public int NrEntriesBatch { get; private set; }

    /// <summary>B17: the batch <c>bp_desc</c> points at; 0: NULL.</summary>
    public int DescPtr { get; private set; }

    /// <summary>B17: refs of the descriptor in the patching CPU's stack slot (it stays there, at 0, until the slot is reused).</summary>
    public int DescRefs { get; set; }

    /// <summary>Per CPU <c>text_poke_array_refs</c> (mainline since B18's fix).</summary>
    public int[] Refs { get; }

    public bool Patching(int site) => Batch != 0 && (BatchSites & (1 << site)) != 0;

    public void Apply(TextPokeStepped e)
    {
        WriteSeq++;
        switch (e.Phase)
        {
            case TextPokePhase.Began:
                Invariant.Assert(Batch == 0 && e.Batch == Batches + 1, "one batch at a time, under text_mutex (T4)");
                Batch = e.Batch;
                Batches = e.Batch;
                BatchCpu = e.Cpu;
                BatchSites = e.Sites;
                ArrayBatch = e.Batch;
                NrEntriesBatch = e.Batch;
                DescPtr = e.Batch;
                DescRefs = 1;
                Array.Fill(Refs, 1);
                for (int s = 0; s < Sites; s++) Target[s] = (e.Sites & (1 << s)) != 0 ? Tail[s] + 1 : Tail[s];
                break;
            case TextPokePhase.Int3Written:
                WriteSites(e, Byte0, Byte0Prev, Byte0Seq, int3: true);
                break;
            case TextPokePhase.TailWritten:
                WriteSites(e, Tail, TailPrev, TailSeq, int3: false);
                break;
            case TextPokePhase.FirstWritten:
                WriteSites(e, Byte0, Byte0Prev, Byte0Seq, int3: false);
                break;
            case TextPokePhase.VecCleared:
                ArrayBatch = 0;
                break;
            case TextPokePhase.NrEntriesCleared:
                NrEntriesBatch = 0;
                break;
            case TextPokePhase.DescCleared:
                DescPtr = 0;
                break;
            case TextPokePhase.Ended:
                Invariant.Assert(e.Batch == Batch, "the batch that ends is the one in progress");
                Batch = 0;
                BatchCpu = -1;
                BatchSites = 0;
                NrEntriesBatch = 0;
                DescPtr = 0;
                // B17's descriptor stays in the dead stack slot, at refs 0, until a later batch reuses
                // the slot; the global array (and B16's vec, already NULL) is empty.
                if (Design != TextDesign.B17StackDescriptor) ArrayBatch = 0;
                break;
        }
    }

    private void WriteSites(TextPokeStepped e, int[] value, int[] prev, long[] seq, bool int3)
    {
        Invariant.Assert(e.Batch == Batch && e.Sites == BatchSites, "text writes belong to the batch in progress");
        for (int s = 0; s < Sites; s++)
        {
            if ((e.Sites & (1 << s)) == 0) continue;
            prev[s] = value[s];
            value[s] = int3 ? Int3 : Target[s];
            seq[s] = WriteSeq;
        }
    }

    public void Hash(ref StateHasher h)
    {
        h.Add(Batch);
        h.Add(Batches);
        h.Add(ArrayBatch);
        h.Add(NrEntriesBatch);
        h.Add(DescPtr);
        for (int s = 0; s < Sites; s++)
        {
            h.Add(Byte0[s]);
            h.Add(Tail[s]);
        }
    }
}

/// <summary>How the INT3 handler finds the batch, and how P4 retires it.</summary>
public enum TextDesign : byte
{
    /// <summary>Mainline: per-CPU refs set at P0, try-get in the handler, P4 waits for each to drain.</summary>
    PerCpuRefs,
    /// <summary>B16, before 285a54ef: bp_patching.nr_entries then .vec, cleared in that order's reverse with no sync.</summary>
    B16NoSync,
    /// <summary>B17, 1f676247 to Amit's fix: a refcounted descriptor on the patcher's stack, bp_desc pointing at it.</summary>
    B17StackDescriptor,
}
