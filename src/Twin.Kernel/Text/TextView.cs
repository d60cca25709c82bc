namespace Twin.Kernel.Text;

/// <summary>
/// A CPU's loads from text_poke's shared state and the patched text: the batch the INT3 handler
/// looks up, the bytes at a site, text_mutex's owner, the refs P4 waits on. Read-only: writes
/// are messages to the text actor (<see cref="TextOp"/>).
/// </summary>
public readonly struct TextView(TextActor text)
{
    private TextState State => text.State;

    public int Sites => State.Sites;

    public TextDesign Design => State.Design;

    /// <summary>The CPU holding text_mutex, or -1.</summary>
    public int MutexOwner => text.MutexOwner;

    /// <summary>The batch in progress, 0 if none.</summary>
    public int Batch => State.Batch;

    /// <summary>The batch whose entries the INT3 handler reads (text_poke_array, B16's vec, B17's descriptor); 0: empty.</summary>
    public int ArrayBatch => State.ArrayBatch;

    /// <summary>B16: the batch <c>bp_patching.nr_entries</c> counts, 0 when zero.</summary>
    public int NrEntriesBatch => State.NrEntriesBatch;

    /// <summary>B17: the batch <c>bp_desc</c> points at; 0: NULL.</summary>
    public int DescPtr => State.DescPtr;

    /// <summary>The site is in the batch in progress.</summary>
    public bool Patching(int site) => State.Patching(site);

    /// <summary>The site's first byte (<see cref="TextState.Int3"/> while patched).</summary>
    public int Byte0(int site) => State.Byte0[site];

    /// <summary>The version the batch in progress writes at the site.</summary>
    public int Target(int site) => State.Target[site];

    /// <summary>Text writes so far (a CPU remembers it at each core-serializing event).</summary>
    public long WriteSeq => State.WriteSeq;

    /// <summary>
    /// An instruction fetch at <paramref name="site"/> by a CPU whose last core-serializing event saw
    /// <paramref name="serializedSeq"/> writes: a later byte may come old or new (cross-modifying code).
    /// </summary>
    public (int Byte0, int Tail) Fetch(int site, long serializedSeq, Actors.DeterministicRandom random) => text.Fetch(site, serializedSeq, random);

    /// <summary>P4's condition: some handler still holds a ref (B17: the descriptor's; else any CPU's text_poke_array_refs).</summary>
    public bool RefsHeld => State.Design == TextDesign.B17StackDescriptor ? State.DescRefs > 0 : Array.Exists(State.Refs, r => r > 0);
}
