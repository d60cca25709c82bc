namespace Twin.Kernel.Cpu;

/// <summary>
/// rq->curr->mm of one CPU as another CPU reads it, for litmus experiments on scenarios C–E
/// (<c>litmus.currStoreBufferNs</c>): the stores of rq->curr (a context switch) and of
/// current->mm (exit_mm, kthread_use/unuse_mm, exec) go through the storing CPU's store buffer,
/// so membarrier's sample (b) on another CPU reads the old value until the store is due or the
/// storing CPU runs a full barrier. That is why the kernel needs a barrier after the store and
/// before the next user access (scenario C's (e), E's (g)): without it, membarrier can skip a CPU
/// whose user accesses already run. Stores to this one location never overtake each other
/// (coherence): a due store makes every earlier one visible with it.
/// </summary>
internal sealed class BufferedCurrMm
{
    private readonly List<(int Mm, long DueNs)> _pending = new(4);
    private int _visible;

    /// <summary>The storing CPU writes <paramref name="mm"/>; other CPUs see it from <paramref name="dueNs"/> on, or from its next barrier.</summary>
    public void Store(int mm, long dueNs) => _pending.Add((mm, dueNs));

    /// <summary>A full barrier or core-serializing event of the storing CPU: its stores are visible.</summary>
    public void Drain()
    {
        if (_pending.Count == 0) return;
        _visible = _pending[^1].Mm;
        _pending.Clear();
    }

    /// <summary>What another CPU reads at <paramref name="nowNs"/>.</summary>
    public int Read(long nowNs)
    {
        int newestDue = -1;
        for (int i = 0; i < _pending.Count; i++)
        {
            if (_pending[i].DueNs <= nowNs) newestDue = i;
        }
        if (newestDue >= 0)
        {
            _visible = _pending[newestDue].Mm;
            _pending.RemoveRange(0, newestDue + 1);
        }
        return _visible;
    }
}
