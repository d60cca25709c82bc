namespace Twin.Kernel.Cpu;

/// <summary>
/// A word of kernel memory one CPU stores and others read, as those others see it, when the
/// model puts kernel stores through store buffers (<c>litmus.currStoreBufferNs</c>, the
/// weak-memory mode): rq->curr->mm (the stores of rq->curr by a context switch and of
/// current->mm by exit_mm, kthread_use/unuse_mm and exec; membarrier's sample (b) reads it) and
/// rq->membarrier_state (GLOBAL_EXPEDITED's sample reads it). Another CPU reads the old value until
/// the store is due or the storing CPU runs a full barrier. That is why the kernel needs a barrier
/// after such a store and before the next user access (scenario C's (e), E's (g), the
/// registration's smp_mb()): without it, membarrier can skip a CPU whose user accesses already
/// run. Stores to one word never overtake each other (coherence): a due store makes every earlier
/// one visible with it.
/// </summary>
internal sealed class BufferedWord
{
    private readonly List<(int Value, long DueNs)> _pending = new(4);
    private int _visible;

    /// <summary>The storing CPU writes <paramref name="value"/>; other CPUs see it from <paramref name="dueNs"/> on, or from its next barrier.</summary>
    public void Store(int value, long dueNs) => _pending.Add((value, dueNs));

    /// <summary>A full barrier or core-serializing event of the storing CPU: its stores are visible.</summary>
    public void Drain()
    {
        if (_pending.Count == 0) return;
        _visible = _pending[^1].Value;
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
            _visible = _pending[newestDue].Value;
            _pending.RemoveRange(0, newestDue + 1);
        }
        return _visible;
    }
}
